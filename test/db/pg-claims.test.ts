// PostgreSQL claims across replicas: concurrent claims never share a delivery, leases are taken
// and compared in the database's time (a replica whose clock runs far ahead takes no live lease),
// every claim gets a fresh token, a replica gives back only its own claims, and a held claim
// whose lease was lost is neither confirmed nor given back.
import { afterEach, beforeEach, expect } from "bun:test";
import type { ClaimOptions, NewDelivery } from "../../src/domain/store.ts";
import { eventRecord, timeAfterIssuedIds, webhookRecord } from "../store-contract/records.ts";
import { claimHook } from "../store-contract/steps.ts";
import { describePostgres, postgresTest } from "../support/postgres.ts";
import { databaseNow, deliveryRow, type HotPathDatabase, hotPathDatabase, insertWebhook, type Replica } from "./pg-hot-paths-rig.ts";

const HOUR = 3_600_000;
const all = (over: Partial<ClaimOptions> = {}): ClaimOptions => ({ limit: 1_000, leaseMs: 30_000, perWebhookCap: 1_000, inflight: new Map(), ...over });

/** `n` events to each of `hooks` new webhooks, due at `at`: the delivery ids. */
async function backlog(db: HotPathDatabase, r: Replica, at: number, hooks: number, n: number): Promise<string[]> {
  for (let i = 0; i < hooks; i++) await insertWebhook(db.admin, webhookRecord({ createdAt: at }));
  const results = await Promise.all(Array.from({ length: n }, () => r.ingest({ event: eventRecord({ createdAt: at }), idempotencySince: at })));
  return results.flatMap((x) => (x.kind === "created" ? x.deliveries.map((d) => d.id) : []));
}

describePostgres("PostgreSQL claims", () => {
  let db: HotPathDatabase;
  beforeEach(async () => {
    db = await hotPathDatabase();
  });
  afterEach(() => db.close());

  postgresTest("two replicas claiming the same due deliveries at once never get the same one; together they get them all", async () => {
    const a = db.replica("a", "database");
    const b = db.replica("b", "database");
    const t = timeAfterIssuedIds();
    const ids = await backlog(db, a, t, 4, 100);
    expect(ids).toHaveLength(400);
    const got: string[] = [];
    // Rounds of simultaneous claims, small enough that both want the same head of the queue.
    for (let round = 0; round < 40 && got.length < ids.length; round++) {
      const claims = await Promise.all([a, b, a, b].map((r) => r.claims.claimDue(t, all({ limit: 16 }))));
      for (const c of claims.flat()) got.push(c.id);
      if (claims.flat().length === 0) break;
    }
    expect(new Set(got).size).toBe(got.length);
    expect([...got].sort()).toEqual([...ids].sort());
    const [tokens] = await db.admin.query<{ n: number; distinct: number }>(
      "SELECT count(*)::int AS n, count(DISTINCT claim_token)::int AS distinct FROM deliveries WHERE status = 'delivering'",
    );
    expect(tokens).toEqual({ n: 400, distinct: 400 });
  });

  postgresTest("a replica whose clock runs an hour ahead takes no live lease: not recovered, not claimed, until it runs out in database time", async () => {
    const honest = db.replica("honest", "database");
    const ahead = db.replica("ahead", "database");
    const t = await databaseNow(db.admin);
    const [id] = await backlog(db, honest, t, 1, 1);
    const [claimed] = await honest.claims.claimDue(t, all({ leaseMs: 60_000 }));
    expect(claimed?.id).toBe(id as string);
    const row = await deliveryRow(db.admin, id as string);
    const now = await databaseNow(db.admin);
    // Granted from the database's clock.
    expect(row?.leaseExpiresAt).toBeGreaterThanOrEqual(t + 60_000);
    expect(row?.leaseExpiresAt).toBeLessThanOrEqual(now + 60_000);
    // An hour ahead, the lease looks long over: it is not, in the database's time.
    expect(await ahead.claims.recoverExpiredLeases(t + HOUR)).toBe(0);
    expect(await ahead.claims.claimDue(t + HOUR, all())).toEqual([]);
    expect(await deliveryRow(db.admin, id as string)).toMatchObject({ status: "delivering", claimToken: claimed?.claimToken });
    // Once it has run out in database time, the sweep of any replica takes it back.
    await db.admin.query("UPDATE deliveries SET lease_expires_at = $1 WHERE id = $2", [now - 1, id]);
    expect(await ahead.claims.recoverExpiredLeases(t)).toBe(1);
    const [again] = await ahead.claims.claimDue(t, all());
    expect(again?.id).toBe(id as string);
    expect(again?.claimToken).not.toBe(claimed?.claimToken);
  });

  postgresTest("a claim returns its deliveries in due order, each with a token of this replica", async () => {
    const r = db.replica("r1", "caller");
    const t = timeAfterIssuedIds();
    await insertWebhook(db.admin, webhookRecord({ createdAt: t }));
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const x = await r.ingest({ event: eventRecord({ createdAt: t + 5 - i }), idempotencySince: 0 });
      if (x.kind === "created") ids.unshift(x.deliveries[0]?.id ?? "");
    }
    const claims = await r.claims.claimDue(t + 10, all());
    expect(claims.map((c) => c.id)).toEqual(ids);
    expect(claims.every((c) => c.claimToken?.startsWith("r1/"))).toBe(true);
  });

  postgresTest("a replica gives back only claims it holds, not one another replica took since", async () => {
    const a = db.replica("a", "caller");
    const b = db.replica("b", "caller");
    const t = timeAfterIssuedIds();
    const [id] = await backlog(db, a, t, 1, 1);
    await a.claims.claimDue(t, all({ leaseMs: 1_000 }));
    expect(await b.claims.recoverExpiredLeases(t + 1_000)).toBe(1);
    const [taken] = await b.claims.claimDue(t + 1_000, all());
    await a.claims.releaseClaims([id as string], t + 1_001);
    expect(await deliveryRow(db.admin, id as string)).toMatchObject({ status: "delivering", claimToken: taken?.claimToken });
    await b.claims.releaseClaims([id as string], t + 1_002);
    expect(await deliveryRow(db.admin, id as string)).toMatchObject({ status: "pending", claimToken: null, nextAttemptAt: t + 1_002 });
  });

  postgresTest("a held claim another replica took after its lease is neither confirmed nor given back", async () => {
    const a = db.replica("a", "caller");
    const b = db.replica("b", "caller");
    const t = timeAfterIssuedIds();
    await insertWebhook(db.admin, webhookRecord({ createdAt: t }));
    const { hook } = claimHook("hold", 20_000);
    const res = await a.ingest({ event: eventRecord({ createdAt: t }), idempotencySince: t, claim: hook });
    const held = (res.kind === "created" ? res.deliveries : []) as NewDelivery[];
    expect(held[0]?.claim?.delivery.claimToken?.startsWith("a/")).toBe(true);
    expect(await b.claims.recoverExpiredLeases(t + 20_000)).toBe(1);
    const [taken] = await b.claims.claimDue(t + 20_000, all());
    // Old enough to be checked against the database: the token is another's now.
    expect(await a.claims.confirmHeld(held, t + 20_000, 20_000)).toEqual([]);
    await a.claims.releaseHeld(held, t + 20_001);
    expect(await deliveryRow(db.admin, taken?.id ?? "")).toMatchObject({ status: "delivering", claimToken: taken?.claimToken });
  });

  postgresTest("a held claim confirmed after a change is read again and keeps the ingest's token", async () => {
    const r = db.replica("r1", "database");
    const t = timeAfterIssuedIds();
    const w = webhookRecord({ createdAt: t });
    await insertWebhook(db.admin, w);
    const { hook } = claimHook("hold", 20_000);
    const res = await r.ingest({ event: eventRecord({ createdAt: t }), idempotencySince: t, claim: hook });
    const held = (res.kind === "created" ? res.deliveries : []) as NewDelivery[];
    await db.admin.query("UPDATE webhooks SET url = 'https://receiver.example/moved', updated_at = updated_at + 1 WHERE id = $1", [w.id]);
    const before = await databaseNow(db.admin);
    const [confirmed] = await r.claims.confirmHeld(held, t + 5_000, 20_000);
    expect(confirmed).toMatchObject({ id: held[0]?.id, url: "https://receiver.example/moved", claimToken: held[0]?.claim?.delivery.claimToken });
    const row = await deliveryRow(db.admin, held[0]?.id ?? "");
    // Renewed from the database's clock, not from the caller's t + 5 s.
    expect(row?.leaseExpiresAt).toBeGreaterThanOrEqual(before + 20_000);
  });
});
