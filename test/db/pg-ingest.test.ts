// PostgreSQL ingests beyond what the store contract suite asks of every store: batches written
// with unnest whatever their size, idempotency keys raced by two replicas, the window's stale
// keys, a disable that cannot slip between the plan and the insert (FOR SHARE), and the leases
// of ingest claims in database time.
import { afterEach, beforeEach, expect } from "bun:test";
import type { IngestResult } from "../../src/domain/store.ts";
import { eventRecord, timeAfterIssuedIds, webhookRecord } from "../store-contract/records.ts";
import { claimHook } from "../store-contract/steps.ts";
import { describePostgres, postgresTest } from "../support/postgres.ts";
import {
  databaseNow,
  deliveriesOfEvent,
  deliveryRow,
  disableWebhook,
  type HotPathDatabase,
  hotPathDatabase,
  insertWebhook,
  someoneWaitsForALock,
} from "./pg-hot-paths-rig.ts";

describePostgres("PostgreSQL ingest", () => {
  let db: HotPathDatabase;
  beforeEach(async () => {
    db = await hotPathDatabase();
  });
  afterEach(() => db.close());

  postgresTest("a batch of 1,500 events to 3 webhooks is written whole: every event, every delivery", async () => {
    const r = db.replica("r1", "caller");
    const t = timeAfterIssuedIds();
    for (let i = 0; i < 3; i++) await insertWebhook(db.admin, webhookRecord({ createdAt: t }));
    const events = Array.from({ length: 1_500 }, (_, i) => eventRecord({ createdAt: t + i, data: { quote: `'"\\{},\u00e9\n${i}` } }));
    const results = await Promise.all(events.map((event) => r.ingest({ event, idempotencySince: t })));
    expect(results.every((x) => x.kind === "created" && x.deliveries.length === 3)).toBe(true);
    const [counts] = await db.admin.query<{ events: number; deliveries: number }>(
      "SELECT (SELECT count(*)::int FROM events) AS events, (SELECT count(*)::int FROM deliveries WHERE status = 'pending') AS deliveries",
    );
    expect(counts).toEqual({ events: 1_500, deliveries: 4_500 });
    const [stored] = await db.admin.query<{ payload: string }>("SELECT payload FROM events WHERE id = $1", [events[7]?.id]);
    expect(stored?.payload).toBe(events[7]?.payload as string);
  });

  postgresTest("one idempotency key raced by two replicas makes one event; the others replay it", async () => {
    const a = db.replica("a", "caller");
    const b = db.replica("b", "caller");
    const t = timeAfterIssuedIds();
    await insertWebhook(db.admin, webhookRecord({ createdAt: t }));
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? a : b).ingest({ event: eventRecord({ createdAt: t + i, idempotencyKey: "k" }), idempotencySince: t })),
    );
    const created = results.filter((x) => x.kind === "created");
    expect(created).toHaveLength(1);
    const id = (created[0] as IngestResult).event.id;
    for (const x of results.filter((y) => y.kind !== "created")) expect(x).toMatchObject({ kind: "replay", event: { id }, deliveries: 1 });
    const [n] = await db.admin.query<{ n: number }>("SELECT count(*)::int AS n FROM events");
    expect(n?.n).toBe(1);
  });

  postgresTest("a key of the same batch twice: the first is created, the second replays it with its deliveries", async () => {
    const r = db.replica("r1", "caller");
    const t = timeAfterIssuedIds();
    await insertWebhook(db.admin, webhookRecord({ createdAt: t }));
    await insertWebhook(db.admin, webhookRecord({ createdAt: t }));
    const [first, second] = await Promise.all([
      r.ingest({ event: eventRecord({ createdAt: t, idempotencyKey: "dup" }), idempotencySince: t }),
      r.ingest({ event: eventRecord({ createdAt: t + 1, idempotencyKey: "dup" }), idempotencySince: t }),
    ]);
    expect(first?.kind).toBe("created");
    expect(second).toMatchObject({ kind: "replay", event: { id: first?.event.id }, deliveries: 2 });
  });

  postgresTest("a key older than the window is given up by its event and taken by the new one", async () => {
    const r = db.replica("r1", "caller");
    const t = timeAfterIssuedIds();
    const old = eventRecord({ createdAt: t, idempotencyKey: "k" });
    expect((await r.ingest({ event: old, idempotencySince: t })).kind).toBe("created");
    const renewed = eventRecord({ createdAt: t + 100, idempotencyKey: "k" });
    expect((await r.ingest({ event: renewed, idempotencySince: t + 1 })).kind).toBe("created");
    const rows = await db.admin.query<{ id: string; idempotency_key: string | null }>("SELECT id, idempotency_key FROM events ORDER BY id");
    expect(rows).toEqual([
      { id: old.id, idempotency_key: null },
      { id: renewed.id, idempotency_key: "k" },
    ]);
  });

  postgresTest("a disable committed while an ingest waits on the webhook's lock: the ingest writes no delivery to it", async () => {
    const r = db.replica("r1", "caller");
    const t = timeAfterIssuedIds();
    const w = webhookRecord({ createdAt: t });
    await insertWebhook(db.admin, w);
    // The replica's cache now holds the webhook as enabled: the next plan is made from it.
    expect((await r.ingest({ event: eventRecord({ createdAt: t }), idempotencySince: t })).kind).toBe("created");
    const held = Promise.withResolvers<void>();
    const locked = Promise.withResolvers<void>();
    // A disable in flight: the webhook row is locked by its UPDATE until it commits.
    const disabling = db.admin.transaction(async (tx) => {
      await tx.query("UPDATE webhooks SET enabled = false, disabled_reason = 'manual', updated_at = updated_at + 1 WHERE id = $1", [w.id]);
      locked.resolve();
      await held.promise;
      await tx.query("UPDATE deliveries SET status = 'failed' WHERE webhook_id = $1 AND status = 'pending'", [w.id]);
    });
    await locked.promise;
    const event = eventRecord({ createdAt: t + 1 });
    const ingesting = r.ingest({ event, idempotencySince: t });
    await someoneWaitsForALock(db.admin);
    held.resolve();
    await disabling;
    const res = await ingesting;
    expect(res).toMatchObject({ kind: "created", deliveries: [] });
    expect(await deliveriesOfEvent(db.admin, event.id)).toEqual([]);
  });

  postgresTest("a webhook disabled after the plan read it from the cache gets no delivery", async () => {
    const r = db.replica("r1", "caller");
    const t = timeAfterIssuedIds();
    const w = webhookRecord({ createdAt: t });
    await insertWebhook(db.admin, w);
    await r.ingest({ event: eventRecord({ createdAt: t }), idempotencySince: t });
    // Through another replica: this one's cache still has it enabled.
    await disableWebhook(db.admin, w.id, t + 1);
    const { hook, givenBack } = claimHook("send");
    const res = await r.ingest({ event: eventRecord({ createdAt: t + 2 }), idempotencySince: t, claim: hook });
    expect(res).toMatchObject({ kind: "created", deliveries: [] });
    expect(givenBack).toHaveLength(1);
  });

  postgresTest("a webhook created or enabled through another replica after the cache was filled gets the next event, claimed by the ingest", async () => {
    const r = db.replica("r1", "caller");
    const t = timeAfterIssuedIds();
    const first = webhookRecord({ createdAt: t });
    await insertWebhook(db.admin, first);
    // Fills r1's cache with [first], a batch of several events of the tenant at once.
    const warm = await Promise.all(Array.from({ length: 5 }, (_, i) => r.ingest({ event: eventRecord({ createdAt: t + i }), idempotencySince: t })));
    expect(warm.map((x) => x.kind === "created" && x.deliveries.length)).toEqual([1, 1, 1, 1, 1]);

    // Through another replica (r1's cache still holds [first] only): one created, one re-enabled.
    const second = webhookRecord({ createdAt: t + 10 });
    await insertWebhook(db.admin, second);
    await disableWebhook(db.admin, first.id, t + 11);
    await db.admin.query("UPDATE webhooks SET enabled = true, updated_at = $2 WHERE id = $1", [first.id, t + 12]);

    const { hook, givenBack } = claimHook("send");
    const batch = await Promise.all(
      Array.from({ length: 4 }, (_, i) => r.ingest({ event: eventRecord({ createdAt: t + 20 + i }), idempotencySince: t, ...(i === 0 ? { claim: hook } : {}) })),
    );
    for (const x of batch) {
      expect(x.kind).toBe("created");
      if (x.kind !== "created") continue;
      expect((await deliveriesOfEvent(db.admin, x.event.id)).map((d) => d.webhookId).sort()).toEqual([first.id, second.id].sort());
    }
    // The stale plan's claims were given back; the fresh one claimed what it hands over.
    const claimedOne = batch[0];
    expect(claimedOne?.kind === "created" && claimedOne.deliveries.filter((d) => d.claim !== undefined).length).toBe(2);
    expect(givenBack).toHaveLength(1);
  });

  postgresTest("an ingest claim's lease is in database time, whatever the event's createdAt says; the delivery carries its token", async () => {
    const r = db.replica("r1", "database");
    const t = timeAfterIssuedIds();
    await insertWebhook(db.admin, webhookRecord({ createdAt: t }));
    const { hook } = claimHook("send", 30_000);
    // Created an hour "ago" by a replica whose clock runs behind.
    const before = await databaseNow(db.admin);
    const res = await r.ingest({ event: eventRecord({ createdAt: before - 3_600_000 }), idempotencySince: 0, claim: hook });
    const after = await databaseNow(db.admin);
    if (res.kind !== "created") throw new Error(res.kind);
    const claim = res.deliveries[0]?.claim;
    expect(claim?.leaseExpiresAt).toBeGreaterThanOrEqual(before + 30_000);
    expect(claim?.leaseExpiresAt).toBeLessThanOrEqual(after + 30_000);
    const row = await deliveryRow(db.admin, res.deliveries[0]?.id ?? "");
    expect(row).toMatchObject({ status: "delivering", leaseExpiresAt: claim?.leaseExpiresAt, claimToken: claim?.delivery.claimToken });
    expect(claim?.delivery.claimToken?.startsWith("r1/")).toBe(true);
  });
});
