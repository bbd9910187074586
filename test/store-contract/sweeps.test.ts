// Housekeeping the sweep runs: leases of crashed claimers back, the retry timer's next due time,
// webhooks failing for too long disabled, and retention (finished events purged with their
// deliveries and attempts, idempotency keys forgotten, payloads dropped), each in bounded batches.
import { expect, test } from "bun:test";
import type { Store } from "../../src/domain/store.ts";
import { describeEveryStore } from "./describe-store.ts";
import { attemptOutcome, eventRecord, timeAfterIssuedIds } from "./records.ts";
import { claimAll, deliveryOf, eventsOfType, publish, subscribe, webhookOf } from "./steps.ts";

const DISABLE_AFTER = 3 * 86_400_000;
const UNSUBSCRIBED = "order.paid";

/**
 * Events of tenant acme, oldest first (ids carry their time): `finished` at t (one delivery
 * succeeded with its attempt, one failed with its attempt), `unfinished` at t + 1 (a pending
 * delivery), `bare` at t + 2 (no delivery); `recent` at t + 10 (no delivery).
 */
async function retentionRows(store: Store, t: number) {
  const ok = await subscribe(store, { createdAt: t });
  const failing = await subscribe(store, { createdAt: t });
  const finished = await publish(store, { createdAt: t, idempotencyKey: "k-finished" });
  const claims = await claimAll(store, t);
  await store.recordOutcomes(
    claims.map((c) => attemptOutcome(c, c.webhookId === ok.id ? { at: t } : { at: t, result: "retry", nextAttemptAt: t + 100 })),
    t,
    DISABLE_AFTER,
  );
  // The failing one's retry is failed by its disable (no operational event: it is a manual disable).
  await store.updateWebhook(failing.id, { enabled: false, disabledReason: "manual" }, t, "webhook disabled (manual)");
  await store.updateWebhook(failing.id, { enabled: true, disabledReason: null }, t);
  const unfinished = await publish(store, { createdAt: t + 1, idempotencyKey: "k-unfinished" });
  const bare = await publish(store, { createdAt: t + 2, type: UNSUBSCRIBED, idempotencyKey: "k-bare" });
  const recent = await publish(store, { createdAt: t + 10, type: UNSUBSCRIBED, idempotencyKey: "k-recent" });
  const ids = finished.deliveries.map((d) => d.id);
  expect((await Promise.all(ids.map((id) => deliveryOf(store, id)))).map((d) => d.status).sort()).toEqual(["failed", "succeeded"]);
  return { finished: finished.event, unfinished: unfinished.event, bare: bare.event, recent: recent.event, finishedDeliveries: ids };
}

describeEveryStore("sweeps", (getStore) => {
  test("recovering leases takes back those expired by now, each once, and leaves running ones", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    await subscribe(store, { createdAt: t });
    const short = (await publish(store, { createdAt: t })).deliveries[0]?.id ?? "";
    const long = (await publish(store, { createdAt: t + 1 })).deliveries[0]?.id ?? "";
    await claimAll(store, t, { leaseMs: 1_000 });
    await claimAll(store, t + 1, { leaseMs: 5_000 });
    expect(await store.recoverExpiredLeases(t + 1_000)).toBe(1);
    expect(await deliveryOf(store, short)).toMatchObject({ status: "pending", nextAttemptAt: t + 1_000 });
    expect((await deliveryOf(store, long)).status).toBe("delivering");
    expect(await store.recoverExpiredLeases(t + 5_000)).toBe(0);
    expect(await store.recoverExpiredLeases(t + 5_001)).toBe(1);
  });

  test("the next due time is the earliest nextAttemptAt of pending deliveries, due yet or not", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    expect(await store.nextDueAt()).toBeUndefined();
    await subscribe(store, { createdAt: t });
    await publish(store, { createdAt: t + 5 });
    await publish(store, { createdAt: t + 7 });
    expect(await store.nextDueAt()).toBe(t + 5);
    const [first] = await claimAll(store, t + 5);
    // Claimed: not pending any more, so the next one counts.
    expect(await store.nextDueAt()).toBe(t + 7);
    await store.recordOutcomes([attemptOutcome(first as { id: string; webhookId: string }, { at: t + 5, result: "retry", nextAttemptAt: t + 6 })], t + 5, DISABLE_AFTER);
    expect(await store.nextDueAt()).toBe(t + 6);
  });

  test("finished deliveries do not count for the next due time", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const w = await subscribe(store, { createdAt: t });
    await publish(store, { createdAt: t });
    await store.updateWebhook(w.id, { enabled: false, disabledReason: "manual" }, t + 1, "webhook disabled (manual)");
    expect(await store.nextDueAt()).toBeUndefined();
  });

  test("webhooks failing since the bound or before are disabled as 'failing', their pending failed, each reported", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const old = await subscribe(store, { createdAt: t, failingSince: t, failureCount: 2 });
    const pending = (await publish(store, { createdAt: t })).deliveries[0]?.id ?? "";
    const young = await subscribe(store, { createdAt: t, failingSince: t + 5, events: [UNSUBSCRIBED] });
    const off = await subscribe(store, { createdAt: t, failingSince: t, enabled: false, events: [UNSUBSCRIBED] });
    const healthy = await subscribe(store, { createdAt: t, events: [UNSUBSCRIBED] });
    expect(await store.disableFailingWebhooks(t, t + 100)).toEqual([old.id]);
    expect(await webhookOf(store, old.id)).toMatchObject({ enabled: false, disabledReason: "failing" });
    expect(await deliveryOf(store, pending)).toMatchObject({ status: "failed", lastError: "webhook disabled (failing)" });
    for (const w of [young, healthy]) expect((await webhookOf(store, w.id)).enabled).toBe(true);
    expect(await webhookOf(store, off.id)).toMatchObject({ enabled: false, disabledReason: "manual" });
    expect(await eventsOfType(store, "acme", "hookline.webhook.disabled")).toEqual([
      {
        webhook_id: old.id,
        url: old.url,
        reason: "failing",
        failure_count: 2,
        failing_since: new Date(t).toISOString(),
        disabled_at: new Date(t + 100).toISOString(),
      },
    ]);
    expect(await store.disableFailingWebhooks(t, t + 200)).toEqual([]);
  });

  test("a webhook the sweep disabled gets no delivery of the next event", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const w = await subscribe(store, { createdAt: t, failingSince: t });
    expect((await publish(store, { createdAt: t })).deliveries.map((d) => d.webhookId)).toEqual([w.id]);
    expect(await store.disableFailingWebhooks(t, t + 1)).toEqual([w.id]);
    expect((await publish(store, { createdAt: t + 2 })).deliveries).toEqual([]);
  });

  test("purging deletes finished events created before the bound with their deliveries and attempts, and counts them", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const rows = await retentionRows(store, t);
    expect(await store.purgeFinished(t + 10, 100)).toEqual({ events: 2, deliveries: 2, attempts: 2 });
    expect(await store.getEvent(rows.finished.id)).toBeUndefined();
    expect(await store.getEvent(rows.bare.id)).toBeUndefined();
    for (const id of rows.finishedDeliveries) {
      expect(await store.getDelivery(id)).toBeUndefined();
      expect(await store.listAttempts(id)).toEqual([]);
    }
  });

  test("purging keeps events with a delivery still to make, and those created at the bound or later", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const rows = await retentionRows(store, t);
    await store.purgeFinished(t + 10, 100);
    expect(await store.getEvent(rows.unfinished.id)).toEqual(rows.unfinished);
    expect(await store.listEventDeliveries(rows.unfinished.id)).toHaveLength(2);
    expect(await store.getEvent(rows.recent.id)).toEqual(rows.recent);
    expect(await store.purgeFinished(t + 10, 100)).toEqual({ events: 0, deliveries: 0, attempts: 0 });
  });

  test("an event whose delivery is in flight is not purged", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    await subscribe(store, { createdAt: t });
    const { event } = await publish(store, { createdAt: t });
    await claimAll(store, t);
    expect((await store.purgeFinished(t + 10, 100)).events).toBe(0);
    expect(await store.getEvent(event.id)).toEqual(event);
  });

  test("purging takes at most `limit` events per call; the next call goes on", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    for (let i = 0; i < 3; i++) await publish(store, { createdAt: t + i, type: UNSUBSCRIBED });
    expect((await store.purgeFinished(t + 10, 2)).events).toBe(2);
    expect((await store.purgeFinished(t + 10, 2)).events).toBe(1);
    expect(await store.listEvents({ limit: 10 })).toEqual([]);
  });

  test("clearing idempotency keys frees those of events before the bound: the key creates anew, the events stay", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const rows = await retentionRows(store, t);
    expect(await store.clearIdempotencyKeys(t + 10, 100)).toBe(3);
    for (const e of [rows.finished, rows.unfinished, rows.bare]) expect((await store.getEvent(e.id))?.idempotencyKey).toBeNull();
    const reused = await store.ingest({ event: eventRecord({ createdAt: t + 20, idempotencyKey: "k-finished" }), idempotencySince: 0 });
    expect(reused.kind).toBe("created");
    // Newer keys keep working.
    const replay = await store.ingest({ event: eventRecord({ createdAt: t + 21, type: UNSUBSCRIBED, idempotencyKey: "k-recent" }), idempotencySince: 0 });
    expect(replay).toMatchObject({ kind: "replay", event: { id: rows.recent.id } });
  });

  test("clearing idempotency keys takes at most `limit` per call and counts only keys it cleared", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    for (let i = 0; i < 3; i++) await publish(store, { createdAt: t + i, idempotencyKey: `k${i}` });
    await publish(store, { createdAt: t + 3 });
    expect(await store.clearIdempotencyKeys(t + 10, 2)).toBe(2);
    expect(await store.clearIdempotencyKeys(t + 10, 2)).toBe(1);
    expect(await store.clearIdempotencyKeys(t + 10, 2)).toBe(0);
  });

  test("pruning drops the payload of finished events before the bound, keeps the events and their deliveries", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const rows = await retentionRows(store, t);
    expect(await store.prunePayloads(t + 10, 100)).toBe(2);
    expect(await store.getEvent(rows.finished.id)).toEqual({ ...rows.finished, payload: "" });
    expect(await store.getEvent(rows.bare.id)).toEqual({ ...rows.bare, payload: "" });
    expect(await store.listEventDeliveries(rows.finished.id)).toHaveLength(2);
    // Still to be sent, or recent: kept whole.
    expect(await store.getEvent(rows.unfinished.id)).toEqual(rows.unfinished);
    expect(await store.getEvent(rows.recent.id)).toEqual(rows.recent);
    expect(await store.prunePayloads(t + 10, 100)).toBe(0);
  });

  test("pruning takes at most `limit` payloads per call", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    for (let i = 0; i < 3; i++) await publish(store, { createdAt: t + i, type: UNSUBSCRIBED });
    expect(await store.prunePayloads(t + 10, 2)).toBe(2);
    expect(await store.prunePayloads(t + 10, 2)).toBe(1);
  });
});
