// Outcomes: what an attempt's result does to its delivery and webhook — succeeded, rescheduled,
// failed (an exhausted event), 410 or a long failing run (the webhook disabled, its pending
// deliveries failed, a disabled event), a success after failures (a recovered event); a manual
// retry changes the state only when it succeeds.
import { expect, test } from "bun:test";
import type { ClaimedDelivery, Store } from "../../src/domain/store.ts";
import { describeEveryStore } from "./describe-store.ts";
import { attemptOutcome, timeAfterIssuedIds } from "./records.ts";
import { claimAll, deliveryOf, eventsOfType, oneDelivery, publish, subscribe, webhookOf } from "./steps.ts";

const DAY = 86_400_000;
const DISABLE_AFTER = 3 * DAY;
const iso = (ms: number) => new Date(ms).toISOString();

/** A delivery of a new webhook, claimed at `at`. */
async function claimed(store: Store, at: number, type = "member.added"): Promise<ClaimedDelivery> {
  const { deliveryId } = await oneDelivery(store, at, {}, type);
  const [c] = await claimAll(store, at);
  expect(c?.id).toBe(deliveryId);
  return c as ClaimedDelivery;
}

describeEveryStore("outcomes", (getStore) => {
  test("a success: succeeded, the attempt recorded as n 1, lease and schedule cleared, nothing disabled", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const c = await claimed(store, t);
    const disabled = await store.recordOutcomes([attemptOutcome(c, { at: t + 1, durationMs: 42, responseBody: "ok" })], t + 50, DISABLE_AFTER);
    expect(disabled).toEqual([]);
    expect(await deliveryOf(store, c.id)).toMatchObject({
      status: "succeeded",
      attemptsCount: 1,
      lastStatusCode: 200,
      lastError: null,
      nextAttemptAt: null,
      leaseExpiresAt: null,
      retryStartedAt: t + 1,
      updatedAt: t + 50,
    });
    expect(await store.listAttempts(c.id)).toEqual([
      { deliveryId: c.id, n: 1, startedAt: t + 1, durationMs: 42, statusCode: 200, responseBody: "ok", error: null },
    ]);
  });

  test("a retry: pending again at nextAttemptAt, the HTTP status as lastError, the attempt recorded", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const c = await claimed(store, t);
    await store.recordOutcomes([attemptOutcome(c, { at: t + 1, result: "retry", statusCode: 503, responseBody: "busy", nextAttemptAt: t + 60_000 })], t + 2, DISABLE_AFTER);
    expect(await deliveryOf(store, c.id)).toMatchObject({
      status: "pending",
      attemptsCount: 1,
      nextAttemptAt: t + 60_000,
      leaseExpiresAt: null,
      lastStatusCode: 503,
      lastError: "HTTP 503",
      retryStartedAt: t + 1,
    });
    expect(await store.listAttempts(c.id)).toMatchObject([{ n: 1, statusCode: 503, responseBody: "busy", error: null }]);
  });

  test("a transport error is the lastError as it was met, with no status code", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const c = await claimed(store, t);
    const error = "connect ECONNREFUSED 93.184.215.14:443";
    await store.recordOutcomes([attemptOutcome(c, { at: t + 1, result: "retry", statusCode: null, error, nextAttemptAt: t + 5 })], t + 2, DISABLE_AFTER);
    expect(await deliveryOf(store, c.id)).toMatchObject({ lastStatusCode: null, lastError: error });
    expect(await store.listAttempts(c.id)).toMatchObject([{ statusCode: null, error }]);
  });

  test("a rescheduled delivery is claimed again only from its nextAttemptAt, and its attempts go on numbering", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const c = await claimed(store, t);
    await store.recordOutcomes([attemptOutcome(c, { at: t + 1, result: "retry", nextAttemptAt: t + 1_000 })], t + 2, DISABLE_AFTER);
    expect(await claimAll(store, t + 999)).toEqual([]);
    const [again] = await claimAll(store, t + 1_000);
    expect(again).toMatchObject({ id: c.id, attemptsCount: 1, retryStartedAt: t + 1 });
    await store.recordOutcomes([attemptOutcome(c, { at: t + 1_001, retryStartedAt: t + 1 })], t + 1_002, DISABLE_AFTER);
    expect((await store.listAttempts(c.id)).map((a) => a.n)).toEqual([1, 2]);
    expect(await deliveryOf(store, c.id)).toMatchObject({ status: "succeeded", attemptsCount: 2 });
  });

  test("a failing run starts at its first failed attempt, keeps that start, and counts no delivery yet", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const c = await claimed(store, t);
    await store.recordOutcomes([attemptOutcome(c, { at: t + 1, result: "retry", nextAttemptAt: t + 10 })], t + 2, DISABLE_AFTER);
    await claimAll(store, t + 10);
    await store.recordOutcomes([attemptOutcome(c, { at: t + 10, result: "retry", nextAttemptAt: t + 20 })], t + 11, DISABLE_AFTER);
    expect(await webhookOf(store, c.webhookId)).toMatchObject({ enabled: true, failingSince: t + 1, failureCount: 0 });
  });

  test("retries exhausted: failed, the webhook's failureCount up by one, hookline.delivery.exhausted in the tenant", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const c = await claimed(store, t);
    await store.recordOutcomes([attemptOutcome(c, { at: t + 1, result: "failed", statusCode: 500 })], t + 2, DISABLE_AFTER);
    expect(await deliveryOf(store, c.id)).toMatchObject({ status: "failed", nextAttemptAt: null, leaseExpiresAt: null, lastError: "HTTP 500" });
    expect(await webhookOf(store, c.webhookId)).toMatchObject({ enabled: true, failureCount: 1, failingSince: t + 1 });
    expect(await eventsOfType(store, "acme", "hookline.delivery.exhausted")).toEqual([
      {
        delivery_id: c.id,
        webhook_id: c.webhookId,
        event_id: c.eventId,
        event_type: "member.added",
        attempts: 1,
        last_status_code: 500,
        last_error: "HTTP 500",
      },
    ]);
  });

  test("the exhausted event is fanned out in the same call, to the tenant's webhooks that name it", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const watcher = await subscribe(store, { createdAt: t, events: ["hookline.delivery.exhausted"] });
    const c = await claimed(store, t);
    await store.recordOutcomes([attemptOutcome(c, { at: t + 1, result: "failed" })], t + 2, DISABLE_AFTER);
    const [alert] = await store.listEvents({ tenantId: "acme", type: "hookline.delivery.exhausted", limit: 10 });
    expect(alert?.createdAt).toBe(t + 2);
    const sent = await store.listEventDeliveries(alert?.id ?? "");
    expect(sent.map((d) => [d.webhookId, d.status])).toEqual([[watcher.id, "pending"]]);
  });

  test("a delivery of one of Hookline's own events that runs out emits no exhausted event (no feedback loop)", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const c = await claimed(store, t, "hookline.webhook.disabled");
    await store.recordOutcomes([attemptOutcome(c, { at: t + 1, result: "failed" })], t + 2, DISABLE_AFTER);
    expect((await deliveryOf(store, c.id)).status).toBe("failed");
    expect(await eventsOfType(store, "acme", "hookline.delivery.exhausted")).toEqual([]);
  });

  test("410 Gone: failed at once, the webhook disabled as 'gone' and reported, its pending deliveries failed", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const w = await subscribe(store, { createdAt: t });
    await publish(store, { createdAt: t });
    const [c] = await claimAll(store, t, { limit: 1 });
    const waiting = (await publish(store, { createdAt: t + 1 })).deliveries[0]?.id ?? "";
    const disabled = await store.recordOutcomes([attemptOutcome(c as ClaimedDelivery, { at: t + 2, result: "gone" })], t + 3, DISABLE_AFTER);
    expect(disabled).toEqual([w.id]);
    expect(await deliveryOf(store, c?.id ?? "")).toMatchObject({ status: "failed", lastStatusCode: 410 });
    expect(await webhookOf(store, w.id)).toMatchObject({ enabled: false, disabledReason: "gone", failureCount: 1 });
    expect(await deliveryOf(store, waiting)).toMatchObject({ status: "failed", lastError: "webhook disabled (gone)", nextAttemptAt: null });
    expect(await eventsOfType(store, "acme", "hookline.webhook.disabled")).toEqual([
      { webhook_id: w.id, url: w.url, reason: "gone", failure_count: 1, failing_since: iso(t + 2), disabled_at: iso(t + 3) },
    ]);
  });

  test("a webhook disabled by an outcome gets no delivery of the next event", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const c = await claimed(store, t);
    // The fan-out has read the tenant's webhooks (and may keep them): the disable must reach it.
    await publish(store, { createdAt: t, type: "order.paid" });
    await store.recordOutcomes([attemptOutcome(c, { at: t + 1, result: "gone" })], t + 2, DISABLE_AFTER);
    expect((await publish(store, { createdAt: t + 3 })).deliveries).toEqual([]);
  });

  test("an operational event reaches a webhook subscribed after an earlier one was emitted, not one disabled since", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const early = await subscribe(store, { createdAt: t, events: ["hookline.delivery.exhausted"] });
    const first = await claimed(store, t);
    await store.recordOutcomes([attemptOutcome(first, { at: t + 1, result: "failed" })], t + 1, DISABLE_AFTER);
    const late = await subscribe(store, { createdAt: t + 2, events: ["hookline.delivery.exhausted"] });
    await store.updateWebhook(early.id, { enabled: false, disabledReason: "manual" }, t + 2, "webhook disabled (manual)");
    const second = await claimed(store, t + 3, "order.paid");
    await store.recordOutcomes([attemptOutcome(second, { at: t + 4, result: "failed" })], t + 4, DISABLE_AFTER);
    const [latest] = await store.listEvents({ tenantId: "acme", type: "hookline.delivery.exhausted", limit: 1 });
    expect((await store.listEventDeliveries(latest?.id ?? "")).map((d) => d.webhookId)).toEqual([late.id]);
  });

  test("a failure once the run is disable_after old disables the webhook as 'failing'; earlier ones do not", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const c = await claimed(store, t);
    await store.recordOutcomes([attemptOutcome(c, { at: t, result: "retry", nextAttemptAt: t + DISABLE_AFTER - 1 })], t + 1, DISABLE_AFTER);
    await claimAll(store, t + DISABLE_AFTER - 1);
    const early = attemptOutcome(c, { at: t + DISABLE_AFTER - 1, result: "retry", nextAttemptAt: t + DISABLE_AFTER, retryStartedAt: t });
    expect(await store.recordOutcomes([early], t + DISABLE_AFTER - 1, DISABLE_AFTER)).toEqual([]);
    await claimAll(store, t + DISABLE_AFTER);
    const late = attemptOutcome(c, { at: t + DISABLE_AFTER, result: "retry", nextAttemptAt: t + 2 * DISABLE_AFTER, retryStartedAt: t });
    expect(await store.recordOutcomes([late], t + DISABLE_AFTER, DISABLE_AFTER)).toEqual([c.webhookId]);
    expect(await webhookOf(store, c.webhookId)).toMatchObject({ enabled: false, disabledReason: "failing" });
    // Its retry was pending when the webhook was disabled: failed with it.
    expect(await deliveryOf(store, c.id)).toMatchObject({ status: "failed", lastError: "webhook disabled (failing)" });
    expect(await eventsOfType(store, "acme", "hookline.webhook.disabled")).toMatchObject([{ reason: "failing", failing_since: iso(t) }]);
  });

  test("a success after failures ends the run: count and failingSince reset, hookline.webhook.recovered emitted", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const c = await claimed(store, t);
    await store.recordOutcomes([attemptOutcome(c, { at: t + 1, result: "failed" })], t + 2, DISABLE_AFTER);
    const { deliveries } = await publish(store, { createdAt: t + 3 });
    const [next] = await claimAll(store, t + 3);
    expect(next?.id).toBe(deliveries[0]?.id);
    await store.recordOutcomes([attemptOutcome(next as ClaimedDelivery, { at: t + 4 })], t + 5, DISABLE_AFTER);
    const w = await webhookOf(store, c.webhookId);
    expect(w).toMatchObject({ failureCount: 0, failingSince: null });
    expect(await eventsOfType(store, "acme", "hookline.webhook.recovered")).toEqual([
      { webhook_id: w.id, url: w.url, failing_since: iso(t + 1), recovered_at: iso(t + 5) },
    ]);
  });

  test("a success without a failing run emits no recovered event", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const c = await claimed(store, t);
    await store.recordOutcomes([attemptOutcome(c, { at: t + 1 })], t + 2, DISABLE_AFTER);
    expect(await eventsOfType(store, "acme", "hookline.webhook.recovered")).toEqual([]);
  });

  test("a failed manual retry of a failed delivery leaves it failed: one more attempt, no exhausted event, same count", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const c = await claimed(store, t);
    await store.recordOutcomes([attemptOutcome(c, { at: t + 1, result: "failed", statusCode: 500 })], t + 2, DISABLE_AFTER);
    const manual = await store.loadForSend(c.id);
    expect(manual).toMatchObject({ id: c.id, status: "failed", attemptsCount: 1 });
    await store.recordOutcomes([attemptOutcome(c, { at: t + 10, result: "failed", statusCode: 503, manual: true })], t + 11, DISABLE_AFTER);
    expect(await deliveryOf(store, c.id)).toMatchObject({ status: "failed", attemptsCount: 2, nextAttemptAt: null, lastStatusCode: 503 });
    expect((await store.listAttempts(c.id)).map((a) => [a.n, a.statusCode])).toEqual([[1, 500], [2, 503]]);
    expect(await eventsOfType(store, "acme", "hookline.delivery.exhausted")).toHaveLength(1);
    expect((await webhookOf(store, c.webhookId)).failureCount).toBe(1);
  });

  test("a failed manual retry says what it met as lastError, as any attempt does ('HTTP 503')", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const c = await claimed(store, t);
    await store.recordOutcomes([attemptOutcome(c, { at: t + 1, result: "failed", statusCode: 500 })], t + 2, DISABLE_AFTER);
    await store.recordOutcomes([attemptOutcome(c, { at: t + 10, result: "failed", statusCode: 503, manual: true })], t + 11, DISABLE_AFTER);
    expect(await deliveryOf(store, c.id)).toMatchObject({ lastStatusCode: 503, lastError: "HTTP 503" });
  });

  test("a failed manual retry of a pending delivery leaves it on its schedule", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const c = await claimed(store, t);
    await store.recordOutcomes([attemptOutcome(c, { at: t + 1, result: "retry", nextAttemptAt: t + 60_000 })], t + 2, DISABLE_AFTER);
    await store.recordOutcomes([attemptOutcome(c, { at: t + 5, result: "retry", nextAttemptAt: t + 9, manual: true })], t + 6, DISABLE_AFTER);
    expect(await deliveryOf(store, c.id)).toMatchObject({ status: "pending", nextAttemptAt: t + 60_000, attemptsCount: 2 });
  });

  test("a manual retry that succeeds makes a failed delivery succeeded", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const c = await claimed(store, t);
    await store.recordOutcomes([attemptOutcome(c, { at: t + 1, result: "failed" })], t + 2, DISABLE_AFTER);
    await store.recordOutcomes([attemptOutcome(c, { at: t + 10, manual: true })], t + 11, DISABLE_AFTER);
    expect(await deliveryOf(store, c.id)).toMatchObject({ status: "succeeded", attemptsCount: 2, lastStatusCode: 200, lastError: null });
  });

  test("a retry of a delivery whose webhook was disabled during the attempt is failed, not rescheduled", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const c = await claimed(store, t);
    await store.updateWebhook(c.webhookId, { enabled: false, disabledReason: "manual" }, t + 1, "webhook disabled (manual)");
    await store.recordOutcomes([attemptOutcome(c, { at: t + 1, result: "retry", nextAttemptAt: t + 100 })], t + 2, DISABLE_AFTER);
    expect(await deliveryOf(store, c.id)).toMatchObject({ status: "failed", nextAttemptAt: null, lastError: "HTTP 500; webhook is disabled" });
  });

  test("the outcome of a delivery deleted during the attempt is dropped; the others of the batch are written", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const gone = await claimed(store, t, "member.removed");
    const kept = await claimed(store, t, "member.added");
    await store.deleteWebhook(gone.webhookId);
    const outcomes = [attemptOutcome(gone, { at: t + 1, result: "failed" }), attemptOutcome(kept, { at: t + 1 })];
    expect(await store.recordOutcomes(outcomes, t + 2, DISABLE_AFTER)).toEqual([]);
    expect(await store.getDelivery(gone.id)).toBeUndefined();
    expect((await deliveryOf(store, kept.id)).status).toBe("succeeded");
    expect(await eventsOfType(store, "acme", "hookline.delivery.exhausted")).toEqual([]);
  });

  test("a webhook two outcomes of one batch disable is reported once, with one disabled event", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const w = await subscribe(store, { createdAt: t });
    await publish(store, { createdAt: t });
    await publish(store, { createdAt: t });
    const claims = await claimAll(store, t);
    expect(claims).toHaveLength(2);
    const disabled = await store.recordOutcomes(claims.map((c) => attemptOutcome(c, { at: t + 1, result: "gone" })), t + 2, DISABLE_AFTER);
    expect(disabled).toEqual([w.id]);
    expect(await eventsOfType(store, "acme", "hookline.webhook.disabled")).toHaveLength(1);
  });
});
