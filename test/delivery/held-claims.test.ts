// Deliveries an ingest claims for this process while every slot of their webhook is busy: held
// in memory (status delivering, under the ingest's lease) until a slot frees, then sent without
// another write when nothing changed, or checked against the database when something did.
import { describe, expect, test } from "bun:test";
import { newId } from "../../src/lib/ids.ts";
import type { IngestClaim, NewDelivery } from "../../src/domain/store.ts";
import {
  cleanupAfterEach,
  countScans,
  createEventTypes,
  type FakeClock,
  createWebhook,
  fakeClockAfterIssuedIds,
  getDelivery,
  publishEvent,
} from "../support/fixtures.ts";
import { type Harness, harness } from "../support/harness.ts";
import { type Receiver, receiver } from "../support/receiver.ts";

let h: Harness;
const receivers = cleanupAfterEach(() => h);
const open = { allow_http: true, allow_private_networks: true };
const idOf = (d: NewDelivery | undefined): string => d?.id ?? "";
// One attempt at a time per webhook: the second event's delivery onwards is held.
const oneAtATime = { security: open, delivery: { per_webhook_concurrency: 1, timeout: 5_000 } };

const statusCounts = () =>
  Object.fromEntries(
    h.sqlite
      .query<{ status: string; n: number }, []>("SELECT status, count(*) AS n FROM deliveries GROUP BY status")
      .all()
      .map((s) => [s.status, s.n]),
  );

/** A dispatching harness with one webhook whose receiver hangs until released. */
async function hangingWebhook(clock?: FakeClock): Promise<{ r: Receiver; webhookId: string }> {
  h = await harness(oneAtATime, { autoDispatch: true, ...(clock ? { clock } : {}) });
  await createEventTypes(h, ["member.added"]);
  const r = receivers.track(receiver("hang"));
  const wh = await createWebhook(h, { tenant_id: "acme", url: `${r.url}/h`, events: ["member.added"] });
  return { r, webhookId: wh.id };
}

async function publishN(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await publishEvent(h, { tenant_id: "acme", type: "member.added", data: { i } });
}

describe("held by the dispatcher", () => {
  test("are claimed by their ingest, then sent one per freed slot, each once, without a search of the database", async () => {
    const { r } = await hangingWebhook();
    await publishN(5);
    await r.waitFor(1);
    expect(statusCounts()).toEqual({ delivering: 5 });
    const metrics = await (await h.call("GET", "/metrics")).text();
    expect(metrics).toMatch(/^hookline_deliveries_in_flight 1$/m);
    expect(metrics).toMatch(/^hookline_deliveries_held 4$/m);
    const scans = countScans(h);
    r.fallback = 200;
    r.release();
    await r.waitFor(5);
    // Every attempt answered and written, nothing left to claim: a sixth send would come before.
    await h.dispatcher.atRest({ drained: true });
    expect(new Set(r.received.map((x) => x.headers["webhook-id"])).size).toBe(5);
    expect(r.received).toHaveLength(5);
    expect(statusCounts()).toEqual({ succeeded: 5 });
    // At most the one look when the hand-off runs empty (there may be work it never held).
    expect(scans.count).toBeLessThanOrEqual(1);
  });

  test("follow a change of their webhook made while they wait: the new URL, not the one of the ingest", async () => {
    h = await harness(oneAtATime, { autoDispatch: true });
    await createEventTypes(h, ["member.added"]);
    const before = receivers.track(receiver("hang"));
    const after = receivers.track(receiver(200));
    const wh = await createWebhook(h, { tenant_id: "acme", url: `${before.url}/old`, events: ["member.added"] });
    await publishN(3);
    await before.waitFor(1);
    expect((await h.call("PATCH", `/v1/webhooks/${wh.id}`, { body: { url: `${after.url}/new` } })).status).toBe(200);
    before.release();
    await after.waitFor(2);
    await h.dispatcher.atRest({ drained: true });
    expect(before.received).toHaveLength(1);
    expect(after.received.map((x) => x.path)).toEqual(["/new", "/new"]);
  });

  test("are not sent once their webhook is disabled (failed, like its pending ones) or deleted", async () => {
    const { r, webhookId } = await hangingWebhook();
    await publishN(3);
    await r.waitFor(1);
    expect((await h.call("PATCH", `/v1/webhooks/${webhookId}`, { body: { enabled: false } })).status).toBe(200);
    r.release();
    // The slot it frees looks at the held ones first: once that is done they were sent or not.
    await h.dispatcher.atRest({ drained: true });
    expect(r.received).toHaveLength(1);
    expect(statusCounts()).toEqual({ succeeded: 1, failed: 2 });
    const failed = h.sqlite.query<{ last_error: string }, []>("SELECT last_error FROM deliveries WHERE status = 'failed'").all();
    expect(failed.map((f) => f.last_error)).toEqual(["webhook disabled (manual)", "webhook disabled (manual)"]);

    const gone = receivers.track(receiver("hang"));
    const other = await createWebhook(h, { tenant_id: "acme", url: `${gone.url}/b`, events: ["member.added"] });
    await publishN(3);
    await gone.waitFor(1);
    expect((await h.call("DELETE", `/v1/webhooks/${other.id}`)).status).toBe(204);
    gone.release();
    await h.dispatcher.atRest({ drained: true });
    expect(gone.received).toHaveLength(1);
  });

  test("of a webhook disabled while they wait are failed, not given back to be sent, when they age out", async () => {
    const clock = fakeClockAfterIssuedIds();
    const { r, webhookId } = await hangingWebhook(clock);
    await publishN(4);
    await r.waitFor(1);
    expect((await h.call("PATCH", `/v1/webhooks/${webhookId}`, { body: { enabled: false } })).status).toBe(200);
    clock.advance(5_000);
    expect(await h.dispatcher.releaseAgeingHolds()).toBe(3);
    expect(statusCounts()).toEqual({ delivering: 1, failed: 3 });
    r.release();
    await h.dispatcher.atRest({ drained: true });
    expect(r.received).toHaveLength(1);
  });

  test("the test event still goes to a disabled webhook, to its current URL", async () => {
    const { r, webhookId } = await hangingWebhook();
    const moved = receivers.track(receiver(200));
    await publishN(1);
    await r.waitFor(1);
    expect((await h.call("PATCH", `/v1/webhooks/${webhookId}`, { body: { enabled: false } })).status).toBe(200);
    expect((await h.call("POST", `/v1/webhooks/${webhookId}/test`)).status).toBe(202);
    expect((await h.call("PATCH", `/v1/webhooks/${webhookId}`, { body: { url: `${moved.url}/moved` } })).status).toBe(200);
    r.release();
    await moved.waitFor(1);
    expect(moved.received[0]?.path).toBe("/moved");
  });

  test("go back to pending when the dispatcher stops, so the next start sends them at once", async () => {
    const { r } = await hangingWebhook();
    await publishN(4);
    await r.waitFor(1);
    expect(statusCounts()).toEqual({ delivering: 4 });
    await h.dispatcher.stop(50); // the hanging attempt outlives the grace: released too
    expect(statusCounts()).toEqual({ pending: 4 });
    const due = h.sqlite.query<{ n: number }, [number]>("SELECT count(*) AS n FROM deliveries WHERE next_attempt_at <= ?");
    expect(due.get(Date.now())?.n).toBe(4);
  });

  test("go back to the database before their lease could run out, and are then sent from there once", async () => {
    const clock = fakeClockAfterIssuedIds();
    const { r } = await hangingWebhook(clock);
    await publishN(4);
    await r.waitFor(1);
    // Lease = timeout 5 s + 5 s margin. Still 6 s left at the next check: kept.
    clock.advance(4_000);
    expect(await h.dispatcher.releaseAgeingHolds()).toBe(0);
    clock.advance(1_000);
    expect(await h.dispatcher.releaseAgeingHolds()).toBe(3);
    expect(statusCounts()).toEqual({ delivering: 1, pending: 3 });
    r.fallback = 200;
    r.release();
    await r.waitFor(4);
    await h.dispatcher.atRest({ drained: true });
    expect(new Set(r.received.map((x) => x.headers["webhook-id"])).size).toBe(4);
    expect(r.received).toHaveLength(4);
    expect(statusCounts()).toEqual({ succeeded: 4 });
  });
});

describe("confirmHeld (the store)", () => {
  const hold: IngestClaim = { leaseMs: 20_000, take: () => "hold", giveBack: () => undefined };

  async function ingestHeld(createdAt: number): Promise<NewDelivery[]> {
    const id = newId("evt", createdAt);
    const res = await h.deps.store.ingest({
      event: { id, tenantId: "acme", type: "member.added", payload: "{}", payloadFormat: "envelope", idempotencyKey: null, requestHash: null, createdAt },
      idempotencySince: createdAt,
      claim: hold,
    });
    if (res.kind !== "created") throw new Error(res.kind);
    return res.deliveries;
  }

  test("fresh and unchanged: as the ingest prepared it; older: renewed in the database; lease lost: skipped", async () => {
    h = await harness({ security: open });
    await createEventTypes(h, ["member.added"]);
    await createWebhook(h, { tenant_id: "acme", url: "http://127.0.0.1:9/a", events: ["member.added"] });
    const t = Date.now();
    const [fresh] = await ingestHeld(t);
    expect(fresh?.claim?.as).toBe("hold");
    const lease = h.sqlite.query<{ lease_expires_at: number; status: string }, [string]>(
      "SELECT lease_expires_at, status FROM deliveries WHERE id = ?",
    );
    expect(lease.get(idOf(fresh))).toEqual({ status: "delivering", lease_expires_at: t + 20_000 });
    const store = h.deps.store;
    expect((await store.confirmHeld([fresh as NewDelivery], t + 500, 20_000)).map((d) => d.id)).toEqual([idOf(fresh)]);
    // Unchanged in the database: a fresh one is not written again.
    expect(lease.get(idOf(fresh))?.lease_expires_at).toBe(t + 20_000);

    const [old] = await ingestHeld(t);
    expect((await store.confirmHeld([old as NewDelivery], t + 5_000, 20_000)).map((d) => d.id)).toEqual([idOf(old)]);
    expect(lease.get(idOf(old))?.lease_expires_at).toBe(t + 25_000);

    // The sweep took the lease back (as after a crash): no longer this hand-off's to send.
    const [lost] = await ingestHeld(t);
    expect(await store.recoverExpiredLeases(t + 21_000)).toBeGreaterThanOrEqual(1);
    expect(await store.confirmHeld([lost as NewDelivery], t + 21_000, 20_000)).toEqual([]);
    expect(lease.get(idOf(lost))?.status).toBe("pending");
    // Giving back a claim that is no longer ours leaves it alone.
    const [other] = await store.claimDue(t + 21_000, { limit: 10, leaseMs: 20_000, perWebhookCap: 32, inflight: new Map() });
    expect(other).toBeDefined();
    await store.releaseHeld([lost as NewDelivery], t + 21_000);
    expect(lease.get(idOf(lost))?.status).toBe("delivering");
  });

  test("a webhook changed in this process is read again, even when fresh", async () => {
    h = await harness({ security: open });
    await createEventTypes(h, ["member.added"]);
    const wh = await createWebhook(h, { tenant_id: "acme", url: "http://127.0.0.1:9/a", events: ["member.added"] });
    const t = Date.now();
    const [held] = await ingestHeld(t);
    expect((await h.call("PATCH", `/v1/webhooks/${wh.id}`, { body: { url: "http://127.0.0.1:9/b" } })).status).toBe(200);
    const [confirmed] = await h.deps.store.confirmHeld([held as NewDelivery], t + 1, 20_000);
    expect(confirmed?.url).toBe("http://127.0.0.1:9/b");
    expect((await getDelivery(h, held?.id ?? "")).status).toBe("delivering");
  });
});
