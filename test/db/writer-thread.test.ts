// The hot-path writes (ingest batches, claims, attempt outcomes) run on a thread with its own
// connection. What must stay true: a 202 is on disk, the writer's storage errors are 503s, a
// writer that is gone makes writes fail cleanly, and a webhook change made on the main thread
// reaches the writer's own fan-out (Hookline's operational events) at once.
import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { subscriberCache } from "../../src/db/store/cache.ts";
import { ingestPlanner, ingestWriter, type Taken } from "../../src/db/store/ingest.ts";
import { newId } from "../../src/lib/ids.ts";
import { storageProblem } from "../../src/db/store/sqlite-errors.ts";
import { startWriterThread } from "../../src/db/writer/thread.ts";
import { StorageUnavailableError } from "../../src/domain/errors.ts";
import { createSecretBox } from "../../src/domain/secret-box.ts";
import { openMigrated } from "../../src/db/open.ts";
import { type Clock, ManualScheduler } from "../../src/domain/clock.ts";
import type { IngestClaim } from "../../src/domain/store.ts";
import { cleanupAfterEach, createEventTypes, createWebhook, publishEvent } from "../support/fixtures.ts";
import { type Harness, harness, testConfig } from "../support/harness.ts";
import { receiver } from "../support/receiver.ts";

let h: Harness;
const receivers = cleanupAfterEach(() => h);
const open = { allow_http: true, allow_private_networks: true };
const event = { tenant_id: "acme", type: "member.added", data: { n: 1 } };

describe("the writer thread", () => {
  test("a 202 is committed: another connection reads the event and its delivery when the answer arrives", async () => {
    h = await harness({ security: open });
    await createEventTypes(h, ["member.added"]);
    await createWebhook(h, { tenant_id: "acme", url: "http://127.0.0.1:9/h", events: ["member.added"] });
    const outside = new Database(join(h.dir, "hookline.db"), { readonly: true });
    try {
      const seen = await Promise.all(
        Array.from({ length: 40 }, async (_, n) => {
          const res = await h.call("POST", "/v1/events", { body: { ...event, data: { n } } });
          expect(res.status).toBe(202);
          const { id } = (await res.json()) as { id: string };
          // Read at once, from a connection that is neither the main thread's nor the writer's.
          const row = outside.query<{ n: number }, [string]>("SELECT count(*) AS n FROM deliveries WHERE event_id = ?").get(id);
          const ev = outside.query<{ id: string }, [string]>("SELECT id FROM events WHERE id = ?").get(id);
          return { event: ev?.id === id, deliveries: row?.n };
        }),
      );
      expect(seen.every((s) => s.event && s.deliveries === 1)).toBe(true);
    } finally {
      outside.close();
    }
  });

  test("its storage errors are 503 storage_unavailable (the SQLite code crosses the thread); the main connection's writes go on", async () => {
    h = await harness({}, { autoDispatch: true });
    await createEventTypes(h, ["member.added"]);
    await h.writer.setQueryOnly(true);
    const refused = await h.call("POST", "/v1/events", { body: event });
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("5");
    const body = (await refused.json()) as { error: string; message: string };
    expect(body.error).toBe("storage_unavailable");
    expect(body.message).toContain("SQLITE_READONLY");
    expect((await h.call("POST", "/v1/event-types", { body: { name: "invoice.paid" } })).status).toBe(201);
    const ready = await h.call("GET", "/readyz", { key: null });
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ checks: { database: false } });

    await h.writer.setQueryOnly(false);
    await publishEvent(h, event);
    expect((await h.call("GET", "/readyz", { key: null })).status).toBe(200);
  });

  test("once gone, writes that need it answer 503 and /readyz says the database is not ready", async () => {
    h = await harness({}, { autoDispatch: true });
    await createEventTypes(h, ["member.added"]);
    await h.writer.close();
    const refused = await h.call("POST", "/v1/events", { body: event });
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { error: string }).error).toBe("storage_unavailable");
    expect((await h.call("GET", "/readyz", { key: null })).status).toBe(503);
    // Reads are the main thread's.
    expect((await h.call("GET", "/v1/events")).status).toBe(200);
  });

  test("a thread that cannot open the database fails its calls as storage unavailable and is replaced until one can", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hookline-writer-"));
    // A file where the data folder should be: the thread's open fails (as with a volume not
    // mounted yet), and so does every replacement's until the folder is there.
    const folder = join(dir, "data");
    writeFileSync(folder, "not a folder");
    const lost: string[] = [];
    // Respawns run on a scheduler the test advances: a replacement starts only when it says.
    const scheduler = new ManualScheduler();
    const writer = startWriterThread(
      { path: join(folder, "hookline.db"), synchronous: "full", busyTimeoutMs: 1_000, encryptionKey: undefined },
      (why) => lost.push(why),
      20,
      scheduler,
    );
    /** Waits (bounded) for the next loss to be reported: a positive event, then one respawn. */
    const nextLoss = async () => {
      const seen = lost.length;
      const until = Date.now() + 5_000;
      while (lost.length === seen && Date.now() < until) await Bun.sleep(5);
      expect(lost.length).toBe(seen + 1);
      expect(scheduler.pending).toBe(1);
    };
    try {
      await nextLoss();
      expect(lost[0]).toContain("writer could not open the database");
      expect(await writer.ping()).toBe(false);
      // Either refused while down, or by the replacement that cannot open the file either.
      const refused = await writer.claim([newId("dlv")], Date.now(), 30_000).then(
        () => undefined,
        (err: unknown) => err,
      );
      // (the store turns a crossed SQLITE_CANTOPEN into the same 503)
      expect(refused instanceof StorageUnavailableError || storageProblem(refused) === "SQLITE_CANTOPEN").toBe(true);
      // The replacement cannot open it either, and is replaced in turn.
      scheduler.advance(20);
      await nextLoss();

      // Migrated beside it and moved in whole: a replacement sees no folder or a finished
      // database, never one half made.
      const ready = join(dir, "ready");
      openMigrated(testConfig({}, join(ready, "hookline.db"))).sqlite.close();
      rmSync(folder);
      renameSync(ready, folder);
      scheduler.advance(20);
      expect(await writer.ping()).toBe(true);
      // The replacement has the schema's statements ready: a claim of nothing takes nothing.
      expect(await writer.claim([newId("dlv")], Date.now(), 30_000)).toEqual([]);
      // It stays: no loss since, and no further replacement is armed.
      expect(lost).toHaveLength(2);
      expect(scheduler.pending).toBe(0);
    } finally {
      await writer.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a subscriber created on the main thread gets the next operational event the writer emits, without waiting for a cache", async () => {
    h = await harness({ security: open, delivery: { retry_schedule: [0], jitter: 0 } });
    await createEventTypes(h, ["member.added"]);
    // Two failed attempts exhaust a delivery in the writer's outcome transaction, which emits
    // hookline.delivery.exhausted: this first one loads the writer's view of acme's subscribers.
    const dead = receivers.track(receiver(500));
    await createWebhook(h, { tenant_id: "acme", url: `${dead.url}/dead`, events: ["member.added"] });
    const exhaust = async () => {
      const { id } = await publishEvent(h, event);
      await h.dispatcher.dispatchOnce();
      await h.dispatcher.dispatchOnce();
      return id;
    };
    await exhaust();
    expect(dead.received).toHaveLength(2);

    const ops = receivers.track(receiver(200));
    await createWebhook(h, { tenant_id: "acme", url: `${ops.url}/ops`, events: ["hookline.delivery.exhausted"] });
    const second = await exhaust();
    await h.dispatcher.dispatchOnce(); // the operational event to ops
    const bodies = ops.received.map((r) => JSON.parse(r.body) as { type: string; data: { event_id: string } });
    expect(bodies).toHaveLength(1);
    expect(bodies[0]).toMatchObject({ type: "hookline.delivery.exhausted", data: { event_id: second } });
  });
});

describe("an ingest's write checks the webhooks its plan read", () => {
  // The plan (fan-out, claims) is made on the main thread; the write comes later on the writer.
  // A webhook changed in between is looked at again: what happens to a delivery planned for it.
  async function planThenChange(change: (webhookId: string) => Promise<unknown>, clock?: Clock) {
    h = await harness({ security: open }, clock ? { clock } : {});
    await createEventTypes(h, ["member.added"]);
    const wh = await createWebhook(h, { tenant_id: "acme", url: "http://127.0.0.1:9/h", events: ["member.added"] });
    const plan = ingestPlanner(h.sqlite, createSecretBox(undefined), subscriberCache());
    const write = ingestWriter(h.sqlite);
    const claim: IngestClaim = { leaseMs: 15_000, take: () => "send", giveBack: () => {} };
    const now = clock?.now() ?? Date.now();
    const taken: Taken = [];
    const planned = plan(
      {
        event: { id: newId("evt", now), tenantId: "acme", type: "member.added", payload: "{}", payloadFormat: "envelope", idempotencyKey: null, requestHash: null, createdAt: now },
        idempotencySince: now,
        claim,
      },
      taken,
    );
    expect(planned.plan.rows).toHaveLength(1);
    await change(wh.id);
    const written = h.sqlite.transaction(() => write(planned.plan)).immediate();
    const rows = h.sqlite
      .query<{ status: string }, [string]>("SELECT status FROM deliveries WHERE event_id = ?")
      .all(planned.plan.event.id);
    return { written, rows, deliveryId: planned.plan.rows[0]?.id ?? "", taken };
  }

  test("disabled meanwhile: no delivery for it (the disable failed the pending ones; this one would have escaped)", async () => {
    const r = await planThenChange(async (id) => h.call("PATCH", `/v1/webhooks/${id}`, { body: { enabled: false } }));
    expect(r.written).toEqual({ kind: "created", skipped: [r.deliveryId], pending: [] });
    expect(r.rows).toEqual([]);
  });

  test("deleted meanwhile: no delivery and no foreign-key error (the event is still accepted)", async () => {
    const r = await planThenChange(async (id) => h.call("DELETE", `/v1/webhooks/${id}`));
    expect(r.written).toEqual({ kind: "created", skipped: [r.deliveryId], pending: [] });
    expect(r.rows).toEqual([]);
  });

  test("its URL changed meanwhile: written pending, not claimed with the old URL", async () => {
    const r = await planThenChange(async (id) => h.call("PATCH", `/v1/webhooks/${id}`, { body: { url: "http://127.0.0.1:9/new" } }));
    expect(r.written).toEqual({ kind: "created", skipped: [], pending: [r.deliveryId] });
    expect(r.rows).toEqual([{ status: "pending" }]);
  });

  test("its URL changed in the millisecond the webhook was created and the plan read it: still written pending", async () => {
    // A stopped clock: creation, plan and PATCH share one millisecond, so only an updated_at
    // that always moves on a change tells the write that the row it planned on is gone.
    const t = Date.now();
    const r = await planThenChange(
      async (id) => h.call("PATCH", `/v1/webhooks/${id}`, { body: { url: "http://127.0.0.1:9/new" } }),
      { now: () => t },
    );
    expect(r.written).toEqual({ kind: "created", skipped: [], pending: [r.deliveryId] });
    expect(r.rows).toEqual([{ status: "pending" }]);
  });

  test("unchanged: written as planned, claimed", async () => {
    const r = await planThenChange(async () => {});
    expect(r.written).toEqual({ kind: "created", skipped: [], pending: [] });
    expect(r.rows).toEqual([{ status: "delivering" }]);
  });
});
