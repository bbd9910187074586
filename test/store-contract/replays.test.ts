// Replay jobs (API.md §14): a job row per replay, batches that read the tenant's events of the
// window after the cursor and insert a pending delivery for each one the webhook's subscription
// matches, advancing the cursor in the same transaction; one running job per webhook; pacing on
// the webhook's due backlog; and a restart that goes on from the cursor.
import { expect, test } from "bun:test";
import type { ReplayBatchOptions, ReplayJobRecord, Store, WebhookRecord } from "../../src/domain/store.ts";
import { idTimeMs, newId } from "../../src/lib/ids.ts";
import { describeEveryStore } from "./describe-store.ts";
import { timeAfterIssuedIds } from "./records.ts";
import { publish, subscribe } from "./steps.ts";

const MINUTE = 60_000;
const OPTS: ReplayBatchOptions = { limit: 2, maxDue: 1_000, leaseMs: 30_000 };

function replayJob(w: WebhookRecord, f: Partial<ReplayJobRecord> & { since: number; until: number }): ReplayJobRecord {
  return {
    id: newId("rpl", f.since),
    webhookId: w.id,
    tenantId: w.tenantId,
    eventTypes: null,
    status: "running",
    matched: 0,
    created: 0,
    skipped: 0,
    cursorCreatedAt: null,
    cursorId: null,
    error: null,
    startedAt: f.until,
    finishedAt: null,
    ...f,
  };
}

/** Runs batches until the job is no longer progressing; how many progressed. */
async function runToEnd(store: Store, id: string, now: number, opts = OPTS): Promise<number> {
  for (let n = 1; n < 100; n++) {
    const r = await store.replayBatch(id, now, opts);
    if (r.kind !== "progressed") throw new Error(`batch ${n}: ${r.kind}`);
    if (r.finished) return n;
  }
  throw new Error("the job never finished");
}

/** Replay deliveries (those to `w` created at `now`) per event id. */
async function deliveriesTo(store: Store, w: WebhookRecord, eventIds: string[]): Promise<number[]> {
  return Promise.all(eventIds.map(async (id) => (await store.listEventDeliveries(id)).filter((d) => d.webhookId === w.id).length));
}

describeEveryStore("replay jobs", (getStore, restart) => {
  test("one running job per webhook: a second is refused with the first's id; once done, another may start", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const w = await subscribe(store, { createdAt: t });
    const other = await subscribe(store, { createdAt: t });
    const first = replayJob(w, { since: t, until: t + 10 });
    expect(await store.insertReplay(first)).toEqual({ ok: true });
    expect(await store.insertReplay(replayJob(w, { since: t, until: t + 10 }))).toEqual({ ok: false, reason: "running", runningId: first.id });
    expect(await store.insertReplay(replayJob(other, { since: t, until: t + 10 }))).toEqual({ ok: true });
    expect(await store.getReplay(first.id)).toEqual(first);
    expect(await store.runnableReplays(t + 20, 10)).toContain(first.id);
    await runToEnd(store, first.id, t + 20);
    expect(await store.getReplay(first.id)).toMatchObject({ status: "done", finishedAt: t + 20 });
    expect(await store.runnableReplays(t + 20, 10)).not.toContain(first.id);
    expect(await store.replayBatch(first.id, t + 21, OPTS)).toEqual({ kind: "gone" });
    expect(await store.insertReplay(replayJob(w, { since: t, until: t + 10 }))).toEqual({ ok: true });
  });

  test("batches walk the window in order: the tenant's matching events of [since, until] get a pending delivery due now, delivered before or not", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const before = await publish(store, { createdAt: t - 1 });
    // Published before the webhook existed (a backfill), and one after it that it got already.
    const inWindow = [
      await publish(store, { createdAt: t }),
      await publish(store, { createdAt: t + 1, type: "member.removed" }),
      await publish(store, { createdAt: t + 2 }),
    ];
    await publish(store, { createdAt: t + 3, tenantId: "globex" });
    await publish(store, { createdAt: t + 3, type: "order.paid" });
    const w = await subscribe(store, { createdAt: t + 4, events: ["member.*"] });
    const delivered = await publish(store, { createdAt: t + 5 });
    expect(delivered.deliveries.map((d) => d.webhookId)).toEqual([w.id]);
    const after = await publish(store, { createdAt: t + 7 });
    const job = replayJob(w, { since: t, until: t + 6 });
    await store.insertReplay(job);

    expect(await store.replayBatch(job.id, t + 100, OPTS)).toEqual({ kind: "progressed", read: 2, matched: 2, created: 2, skipped: 0, finished: false });
    const mid = await store.getReplay(job.id);
    expect(mid).toMatchObject({ status: "running", matched: 2, created: 2, cursorId: inWindow[1]?.event.id, cursorCreatedAt: t + 1 });
    // Read: t+2 (member.added), t+3 (globex: not read at all, another tenant), t+3 (order.paid: read, not matched).
    expect(await store.replayBatch(job.id, t + 100, OPTS)).toEqual({ kind: "progressed", read: 2, matched: 1, created: 1, skipped: 0, finished: false });
    expect(await store.replayBatch(job.id, t + 100, OPTS)).toEqual({ kind: "progressed", read: 1, matched: 1, created: 1, skipped: 0, finished: true });
    expect(await store.getReplay(job.id)).toMatchObject({ status: "done", matched: 4, created: 4, skipped: 0, finishedAt: t + 100 });

    const ids = [before.event.id, ...inWindow.map((p) => p.event.id), delivered.event.id, after.event.id];
    // `after` is outside the window: only the delivery its own fan-out made.
    expect(await deliveriesTo(store, w, ids)).toEqual([0, 1, 1, 1, 2, 1]);
    const replayed = (await store.listEventDeliveries(inWindow[0]?.event.id ?? "")).find((d) => d.webhookId === w.id);
    expect(replayed).toMatchObject({ status: "pending", nextAttemptAt: t + 100, attemptsCount: 0, tenantId: "acme" });
    const claimed = await store.claimDue(t + 100, { limit: 100, leaseMs: 30_000, perWebhookCap: 100, inflight: new Map() });
    // The replay's four, and the two the fan-out made (never claimed yet).
    const expected = [...inWindow.map((p) => p.event.id), delivered.event.id, delivered.event.id, after.event.id];
    expect(claimed.map((c) => c.eventId).sort()).toEqual(expected.sort());
    expect(claimed.find((c) => c.eventId === inWindow[0]?.event.id)?.payload).toBe(inWindow[0]?.event.payload);
  });

  test("events whose ids ran ahead of their created_at (the clock stepped back) are still in the window", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    // The id generator now runs two minutes ahead of the clock (more than the minute of slack).
    newId("evt", t + 2 * MINUTE);
    const w = await subscribe(store, { createdAt: t });
    const events = [await publish(store, { createdAt: t + 1 }), await publish(store, { createdAt: t + 2 })];
    expect(idTimeMs(events[0]?.event.id ?? "")).toBeGreaterThanOrEqual(t + 2 * MINUTE);
    // Made at t + 3 with the same generator: its id records how far ahead it runs.
    const job = replayJob(w, { since: t, until: t + 3, id: newId("rpl", t + 3), startedAt: t + 3 });
    await store.insertReplay(job);
    await runToEnd(store, job.id, t + 10, { ...OPTS, limit: 10 });
    expect(await store.getReplay(job.id)).toMatchObject({ status: "done", matched: 2, created: 2 });
    // Each: the fan-out's delivery (the webhook was there) and the replay's.
    expect(await deliveriesTo(store, w, events.map((e) => e.event.id))).toEqual([2, 2]);
  });

  test("event_types narrows the subscription; matched events whose payload retention dropped are skipped", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const old = await publish(store, { createdAt: t });
    await store.prunePayloads(t + 1, 100);
    const kept = await publish(store, { createdAt: t + 1 });
    const removed = await publish(store, { createdAt: t + 2, type: "member.removed" });
    const w = await subscribe(store, { createdAt: t + 3, events: ["member.*"] });
    const job = replayJob(w, { since: t, until: t + 3, eventTypes: ["member.added"] });
    await store.insertReplay(job);
    await runToEnd(store, job.id, t + 10, { ...OPTS, limit: 10 });
    expect(await store.getReplay(job.id)).toMatchObject({ status: "done", matched: 2, created: 1, skipped: 1 });
    expect(await deliveriesTo(store, w, [old.event.id, kept.event.id, removed.event.id])).toEqual([0, 1, 0]);
  });

  test("no batch while the webhook has maxDue due pending deliveries; a disabled webhook fails its job", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    for (let i = 0; i < 3; i++) await publish(store, { createdAt: t + i });
    const w = await subscribe(store, { createdAt: t + 3 });
    const job = replayJob(w, { since: t, until: t + 3 });
    await store.insertReplay(job);
    expect((await store.replayBatch(job.id, t + 10, { ...OPTS, maxDue: 2 })).kind).toBe("progressed");
    expect(await store.replayBatch(job.id, t + 10, { ...OPTS, maxDue: 2 })).toEqual({ kind: "paced" });
    // Due later is no backlog: one not due yet at t + 9 leaves room.
    expect((await store.replayBatch(job.id, t + 9, { ...OPTS, maxDue: 2 })).kind).toBe("progressed");
    expect((await store.getReplay(job.id))?.created).toBe(3);

    const again = await subscribe(store, { createdAt: t + 3 });
    const failing = replayJob(again, { since: t, until: t + 3 });
    await store.insertReplay(failing);
    await store.updateWebhook(again.id, { enabled: false, disabledReason: "manual" }, t + 11, "webhook disabled (manual)");
    expect(await store.replayBatch(failing.id, t + 12, OPTS)).toEqual({ kind: "failed" });
    expect(await store.getReplay(failing.id)).toMatchObject({ status: "failed", error: "webhook disabled", finishedAt: t + 12 });
    expect(await deliveriesTo(store, again, [])).toEqual([]);
  });

  test("after a restart a new store on the same database goes on from the cursor: each event gets one delivery", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const events = [];
    for (let i = 0; i < 7; i++) events.push((await publish(store, { createdAt: t + i })).event.id);
    const w = await subscribe(store, { createdAt: t + 7 });
    const job = replayJob(w, { since: t, until: t + 7 });
    await store.insertReplay(job);
    expect((await store.replayBatch(job.id, t + 10, OPTS)).kind).toBe("progressed");
    const next = await restart();
    // A store shared by several processes leased the job to the one that ran the batch: the
    // new one takes it once that lease ran out (the old process may have been killed).
    const later = t + 10 + OPTS.leaseMs + 1;
    expect(await next.runnableReplays(later, 10)).toEqual([job.id]);
    expect(await runToEnd(next, job.id, later)).toBe(3);
    expect(await next.getReplay(job.id)).toMatchObject({ status: "done", matched: 7, created: 7 });
    expect(await deliveriesTo(next, w, events)).toEqual([1, 1, 1, 1, 1, 1, 1]);
  });

  test("the job goes with its webhook", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const w = await subscribe(store, { createdAt: t });
    const job = replayJob(w, { since: t, until: t + 1 });
    await store.insertReplay(job);
    await store.deleteWebhook(w.id);
    expect(await store.getReplay(job.id)).toBeUndefined();
    expect(await store.replayBatch(job.id, t + 2, OPTS)).toEqual({ kind: "gone" });
  });
});
