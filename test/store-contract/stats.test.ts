// Reads for health: a webhook's stats over a window (GET /v1/webhooks/{id}/stats) and the
// store's gauges for /metrics, read at scrape time.
import { expect, test } from "bun:test";
import type { ClaimedDelivery, StoreGauges } from "../../src/domain/store.ts";
import { describeEveryStore } from "./describe-store.ts";
import { attemptOutcome, timeAfterIssuedIds } from "./records.ts";
import { claimAll, publish, subscribe } from "./steps.ts";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const DISABLE_AFTER = 3 * DAY;
const BUCKETS = ["lt_1m", "1m_10m", "10m_1h", "1h_1d", "gt_1d"];

/** Every age bucket, 0 where the store left one out. */
const byAge = (g: StoreGauges) => Object.fromEntries(BUCKETS.map((b) => [b, g.pendingByAge[b] ?? 0]));

describeEveryStore("stats", (getStore) => {
  test("a webhook without attempts or pending deliveries has empty stats", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const w = await subscribe(store, { createdAt: t });
    expect(await store.webhookStats(w.id, t)).toEqual({
      attempts: 0,
      succeeded: 0,
      p50Ms: null,
      p95Ms: null,
      oldestPendingCreatedAt: null,
      nextAttemptAt: null,
    });
  });

  test("stats count the webhook's attempts started since the window's start, and the 2xx among them", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const w = await subscribe(store, { createdAt: t });
    const other = await subscribe(store, { createdAt: t });
    for (let i = 0; i < 4; i++) await publish(store, { createdAt: t });
    const claims = (await claimAll(store, t)).filter((c) => c.webhookId === w.id);
    expect(claims).toHaveLength(4);
    const [before, ok, retry, failed] = claims as ClaimedDelivery[];
    await store.recordOutcomes(
      [
        attemptOutcome(before as ClaimedDelivery, { at: t }),
        attemptOutcome(ok as ClaimedDelivery, { at: t + 3 * MINUTE, statusCode: 204 }),
        attemptOutcome(retry as ClaimedDelivery, { at: t + 3 * MINUTE + 1, result: "retry", nextAttemptAt: t + 4 * MINUTE }),
        attemptOutcome(failed as ClaimedDelivery, { at: t + 3 * MINUTE + 2, result: "failed", statusCode: 404 }),
      ],
      t + 3 * MINUTE + 3,
      DISABLE_AFTER,
    );
    // Counted per minute (the roll-up): from the start of the window's first minute, which the
    // first attempt is two minutes before.
    expect(await store.webhookStats(w.id, t + 2 * MINUTE)).toMatchObject({ attempts: 3, succeeded: 1 });
    expect(await store.webhookStats(w.id, t)).toMatchObject({ attempts: 4, succeeded: 2 });
    expect(await store.webhookStats(other.id, t)).toMatchObject({ attempts: 0 });
  });

  test("stats give attempt durations at the 50th and 95th percentile (nearest rank over the roll-up's bins, as their upper bounds)", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const w = await subscribe(store, { createdAt: t });
    for (let i = 0; i < 20; i++) await publish(store, { createdAt: t });
    const claims = await claimAll(store, t);
    // Durations 20, 19, … 1 ms: written in another order than their rank.
    await store.recordOutcomes(claims.map((c, i) => attemptOutcome(c, { at: t + 1, durationMs: 20 - i })), t + 2, DISABLE_AFTER);
    // Exact ranks 10 and 19 are 10 ms and 19 ms; their bins (9–11 ms, 17–22 ms) answer 11 and 22.
    expect(await store.webhookStats(w.id, t)).toMatchObject({ attempts: 20, p50Ms: 11, p95Ms: 22 });
  });

  test("stats show the webhook's oldest pending delivery and its next attempt, not other webhooks'", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const w = await subscribe(store, { createdAt: t });
    await subscribe(store, { createdAt: t, tenantId: "acme", events: ["order.paid"] });
    await publish(store, { createdAt: t, type: "order.paid" });
    await publish(store, { createdAt: t + 5 });
    await publish(store, { createdAt: t + 8 });
    const [first] = (await claimAll(store, t + 5)).filter((c) => c.webhookId === w.id);
    await store.recordOutcomes([attemptOutcome(first as ClaimedDelivery, { at: t + 6, result: "retry", nextAttemptAt: t + 7 })], t + 6, DISABLE_AFTER);
    expect(await store.webhookStats(w.id, t)).toMatchObject({ oldestPendingCreatedAt: t + 5, nextAttemptAt: t + 7 });
  });

  test("gauges count pending deliveries by age: under 1 min, 1–10 min, 10 min–1 h, 1 h–1 d, older", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const now = t + 2 * DAY;
    await subscribe(store, { createdAt: t });
    // Oldest first: ids carry their time.
    for (const age of [2 * DAY, DAY, 2 * HOUR, 30 * MINUTE, 5 * MINUTE, MINUTE, 30_000, 0]) {
      await publish(store, { createdAt: now - age });
    }
    expect(byAge(await store.gauges(now))).toEqual({ lt_1m: 2, "1m_10m": 2, "10m_1h": 1, "1h_1d": 1, gt_1d: 2 });
  });

  test("gauges show the oldest pending delivery and the earliest due time, null when nothing is due", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    await subscribe(store, { createdAt: t });
    expect(await store.gauges(t)).toMatchObject({ oldestPendingCreatedAt: null, oldestDueAt: null });
    await publish(store, { createdAt: t + 10 });
    await publish(store, { createdAt: t + 20 });
    expect(await store.gauges(t + 5)).toMatchObject({ oldestPendingCreatedAt: t + 10, oldestDueAt: null });
    expect(await store.gauges(t + 25)).toMatchObject({ oldestPendingCreatedAt: t + 10, oldestDueAt: t + 10 });
  });

  test("gauges leave out deliveries in flight and finished ones", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    await subscribe(store, { createdAt: t });
    await publish(store, { createdAt: t });
    await publish(store, { createdAt: t });
    const [sent, sending] = await claimAll(store, t);
    await store.recordOutcomes([attemptOutcome(sent as ClaimedDelivery, { at: t })], t, DISABLE_AFTER);
    expect(sending).toBeDefined();
    const g = await store.gauges(t + 1);
    expect(byAge(g)).toEqual({ lt_1m: 0, "1m_10m": 0, "10m_1h": 0, "1h_1d": 0, gt_1d: 0 });
    expect(g).toMatchObject({ oldestPendingCreatedAt: null, oldestDueAt: null });
  });

  test("gauges count enabled and disabled webhooks over every tenant", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    await subscribe(store, { createdAt: t });
    await subscribe(store, { createdAt: t, tenantId: "globex" });
    await subscribe(store, { createdAt: t, enabled: false });
    expect(await store.gauges(t)).toMatchObject({ webhooksEnabled: 2, webhooksDisabled: 1 });
  });

  test("a store that answers and takes writes says so to ping", async () => {
    expect(await getStore().ping()).toBe(true);
  });
});
