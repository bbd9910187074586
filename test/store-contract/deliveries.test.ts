// Deliveries as the API reads them and acts on them: lookups, a manual attempt's view of a
// delivery in any state, and recover (failed deliveries scheduled again, the schedule restarted).
import { expect, test } from "bun:test";
import type { ClaimedDelivery, Store } from "../../src/domain/store.ts";
import { describeEveryStore } from "./describe-store.ts";
import { attemptOutcome, timeAfterIssuedIds } from "./records.ts";
import { claimAll, deliveryOf, publish, subscribe } from "./steps.ts";

const DISABLE_AFTER = 3 * 86_400_000;

/** An event of `type` whose delivery (to the one webhook subscribed to it) failed after one attempt at `at`. */
async function failedDelivery(store: Store, at: number, type = "member.added"): Promise<string> {
  const { deliveries } = await publish(store, { createdAt: at, type });
  const id = deliveries[0]?.id ?? "";
  const claims = await claimAll(store, at);
  const c = claims.find((x) => x.id === id) as ClaimedDelivery;
  await store.recordOutcomes([attemptOutcome(c, { at, result: "failed" })], at, DISABLE_AFTER);
  expect((await deliveryOf(store, id)).status).toBe("failed");
  return id;
}

describeEveryStore("deliveries", (getStore) => {
  test("unknown ids find nothing: no event, no delivery, nothing to send, no attempts", async () => {
    const store = getStore();
    expect(await store.getEvent("evt_01ARZ3NDEKTSV4RRFFQ69G5FAV")).toBeUndefined();
    expect(await store.getDelivery("dlv_01ARZ3NDEKTSV4RRFFQ69G5FAV")).toBeUndefined();
    expect(await store.loadForSend("dlv_01ARZ3NDEKTSV4RRFFQ69G5FAV")).toBeUndefined();
    expect(await store.listAttempts("dlv_01ARZ3NDEKTSV4RRFFQ69G5FAV")).toEqual([]);
    expect(await store.listEventDeliveries("evt_01ARZ3NDEKTSV4RRFFQ69G5FAV")).toEqual([]);
  });

  test("a manual attempt reads a failed delivery with its webhook as it is now (a rotated secret)", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const w = await subscribe(store, { createdAt: t });
    const id = await failedDelivery(store, t);
    await store.rotateSecret(w.id, "whsec_rotated", t + 3_600_000, t + 1);
    expect(await store.loadForSend(id)).toMatchObject({
      id,
      status: "failed",
      attemptsCount: 1,
      url: w.url,
      secret: "whsec_rotated",
      previousSecret: w.secret,
      previousSecretExpiresAt: t + 3_600_000,
    });
  });

  test("recover schedules the webhook's failed deliveries created since then again: pending, due now, schedule restarted", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const w = await subscribe(store, { createdAt: t });
    const older = await failedDelivery(store, t);
    const recent = await failedDelivery(store, t + 10);
    expect(await store.requeueFailed(w.id, t + 10, t + 100)).toBe(1);
    expect(await deliveryOf(store, recent)).toMatchObject({
      status: "pending",
      nextAttemptAt: t + 100,
      leaseExpiresAt: null,
      retryBase: 1,
      retryStartedAt: null,
      attemptsCount: 1,
    });
    expect((await deliveryOf(store, older)).status).toBe("failed");
    // Claimed again with its restarted schedule, attempts numbered on.
    const [again] = await claimAll(store, t + 100);
    expect(again).toMatchObject({ id: recent, attemptsCount: 1, retryBase: 1, retryStartedAt: null });
  });

  test("recover touches only failed deliveries of that webhook", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const w = await subscribe(store, { createdAt: t });
    const other = await subscribe(store, { createdAt: t, events: ["order.paid"] });
    const theirs = await failedDelivery(store, t, "order.paid");
    const pending = (await publish(store, { createdAt: t + 1 })).deliveries[0]?.id ?? "";
    expect(await store.requeueFailed(w.id, t, t + 5)).toBe(0);
    expect((await deliveryOf(store, theirs)).status).toBe("failed");
    expect(await deliveryOf(store, pending)).toMatchObject({ status: "pending", nextAttemptAt: t + 1 });
    expect(await store.requeueFailed(other.id, t, t + 5)).toBe(1);
  });

  test("recover leaves failed deliveries whose payload was pruned: there is nothing left to send", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const w = await subscribe(store, { createdAt: t });
    const id = await failedDelivery(store, t);
    // The exhausted event the failure emitted is pruned too.
    await store.prunePayloads(t + 1, 100);
    expect((await store.getEvent((await deliveryOf(store, id)).eventId))?.payload).toBe("");
    expect(await store.requeueFailed(w.id, t, t + 5)).toBe(0);
    expect((await deliveryOf(store, id)).status).toBe("failed");
  });

  test("a delivery's event lists it with its current state", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    await subscribe(store, { createdAt: t });
    const id = await failedDelivery(store, t);
    const d = await deliveryOf(store, id);
    expect(await store.listEventDeliveries(d.eventId)).toEqual([d]);
  });
});
