// Claims an ingest makes for this process in its own transaction: "send" (a slot), "hold" (a place
// in the dispatcher's hand-off) or none (pending, for a claim to find); room not used is given
// back. Held deliveries are confirmed when a slot frees — as prepared, re-read, renewed, failed
// or skipped — or given back.
import { expect, test } from "bun:test";
import type { ClaimedDelivery, NewDelivery, Store } from "../../src/domain/store.ts";
import { describeEveryStore } from "./describe-store.ts";
import { eventRecord, timeAfterIssuedIds } from "./records.ts";
import { claimAll, claimHook, deliveryOf, LEASE_MS, publish, subscribe, webhookOf } from "./steps.ts";

/** An event (to the one webhook subscribed) ingested with a hook that holds its delivery for this process. */
async function heldDelivery(store: Store, at: number, leaseMs = 20_000): Promise<NewDelivery> {
  const { hook } = claimHook("hold", leaseMs);
  const { deliveries } = await publish(store, { createdAt: at }, { claim: hook });
  const d = deliveries[0] as NewDelivery;
  expect(d.claim?.as).toBe("hold");
  return d;
}

describeEveryStore("ingest claims", (getStore) => {
  test("an ingest whose hook answers 'send' claims the new delivery: delivering, and ready to send", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const w = await subscribe(store, { createdAt: t });
    const { hook, taken, givenBack } = claimHook("send", 15_000);
    const { event, deliveries } = await publish(store, { createdAt: t + 1 }, { claim: hook });
    const d = deliveries[0] as NewDelivery;
    expect(taken).toEqual([{ webhookId: w.id, payloadLength: event.payload.length }]);
    expect(givenBack).toEqual([]);
    expect(d.claim).toMatchObject({ as: "send", leaseExpiresAt: t + 15_001, webhookUpdatedAt: w.updatedAt });
    // The same view as a manual send, but for the claim's fencing token (a manual send has none).
    const claimedView = { ...d.claim?.delivery };
    delete claimedView.claimToken;
    expect(claimedView).toEqual({ ...(await store.loadForSend(d.id)) });
    expect(await deliveryOf(store, d.id)).toMatchObject({ status: "delivering", leaseExpiresAt: t + 15_001, nextAttemptAt: null });
    expect(await claimAll(store, t + 2)).toEqual([]);
  });

  test("an ingest claims with the webhook as it is now: after a rotation, the new secret and the previous one", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const w = await subscribe(store, { createdAt: t });
    const { hook } = claimHook("send");
    // A first ingest reads (and may keep) the tenant's webhooks; then they change.
    await publish(store, { createdAt: t }, { claim: hook });
    await store.rotateSecret(w.id, "whsec_rotated", t + 3_600_000, t + 1);
    await store.updateWebhook(w.id, { headers: { "x-version": "2" } }, t + 1);
    const { deliveries } = await publish(store, { createdAt: t + 2 }, { claim: hook });
    expect(deliveries[0]?.claim?.delivery).toMatchObject({
      secret: "whsec_rotated",
      previousSecret: w.secret,
      previousSecretExpiresAt: t + 3_600_000,
      headers: { "x-version": "2" },
    });
  });

  test("an ingest whose hook answers 'hold' claims it too, to wait in the hand-off", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    await subscribe(store, { createdAt: t });
    const d = await heldDelivery(store, t, 20_000);
    expect(await deliveryOf(store, d.id)).toMatchObject({ status: "delivering", leaseExpiresAt: t + 20_000 });
    expect(d.claim?.delivery.status).toBe("delivering");
  });

  test("an ingest whose hook has no room leaves the delivery pending, for a claim to find", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    await subscribe(store, { createdAt: t });
    const { hook, taken, givenBack } = claimHook(undefined);
    const { deliveries } = await publish(store, { createdAt: t }, { claim: hook });
    const d = deliveries[0] as NewDelivery;
    expect(taken).toHaveLength(1);
    expect(givenBack).toEqual([]);
    expect(d.claim).toBeUndefined();
    expect((await deliveryOf(store, d.id)).status).toBe("pending");
    expect((await claimAll(store, t)).map((c) => c.id)).toEqual([d.id]);
  });

  test("room an ingest took for a delivery it did not create (a replay) is given back", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    await subscribe(store, { createdAt: t });
    await subscribe(store, { createdAt: t });
    await publish(store, { createdAt: t, idempotencyKey: "k1" });
    const { hook, taken, givenBack } = claimHook("send");
    const replay = await store.ingest({
      event: eventRecord({ createdAt: t + 1, idempotencyKey: "k1" }),
      idempotencySince: t,
      claim: hook,
    });
    expect(replay.kind).toBe("replay");
    expect(givenBack.map((g) => ({ webhookId: g.webhookId, payloadLength: g.payloadLength }))).toEqual(taken);
    expect(givenBack.every((g) => g.taken === "send")).toBe(true);
  });

  test("a held delivery confirmed soon after its ingest, nothing changed, comes back as the ingest prepared it", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    await subscribe(store, { createdAt: t });
    const d = await heldDelivery(store, t);
    expect(await store.confirmHeld([d], t + 500, 20_000)).toEqual([d.claim?.delivery as ClaimedDelivery]);
    expect((await deliveryOf(store, d.id)).status).toBe("delivering");
  });

  test("a held delivery confirmed long after its ingest is checked and its lease renewed to now + leaseMs", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    await subscribe(store, { createdAt: t });
    const d = await heldDelivery(store, t);
    expect((await store.confirmHeld([d], t + 5_000, 20_000)).map((c) => c.id)).toEqual([d.id]);
    expect(await deliveryOf(store, d.id)).toMatchObject({ status: "delivering", leaseExpiresAt: t + 25_000 });
  });

  test("a held delivery whose webhook changed meanwhile comes back as the webhook is now", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const w = await subscribe(store, { createdAt: t });
    const d = await heldDelivery(store, t);
    await store.updateWebhook(w.id, { url: "https://receiver.example/moved", headers: { "x-new": "1" } }, t + 1);
    const [confirmed] = await store.confirmHeld([d], t + 2, 20_000);
    expect(confirmed).toMatchObject({ id: d.id, url: "https://receiver.example/moved", headers: { "x-new": "1" } });
    expect((await deliveryOf(store, d.id)).status).toBe("delivering");
  });

  test("a held delivery whose lease was lost (recovered, claimed by another) is not confirmed, nor given back", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    await subscribe(store, { createdAt: t });
    const d = await heldDelivery(store, t, 20_000);
    expect(await store.recoverExpiredLeases(t + 20_000)).toBe(1);
    expect(await store.confirmHeld([d], t + 20_000, 20_000)).toEqual([]);
    expect((await deliveryOf(store, d.id)).status).toBe("pending");
    expect((await claimAll(store, t + 20_000)).map((c) => c.id)).toEqual([d.id]);
    await store.releaseHeld([d], t + 20_001);
    expect(await deliveryOf(store, d.id)).toMatchObject({ status: "delivering", leaseExpiresAt: t + 20_000 + LEASE_MS });
  });

  test("a held delivery whose webhook was disabled meanwhile is not confirmed: failed, as its pending ones", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const w = await subscribe(store, { createdAt: t });
    const d = await heldDelivery(store, t);
    await store.updateWebhook(w.id, { enabled: false, disabledReason: "manual" }, t + 1, "webhook disabled (manual)");
    expect(await store.confirmHeld([d], t + 2, 20_000)).toEqual([]);
    expect(await deliveryOf(store, d.id)).toMatchObject({ status: "failed", lastError: "webhook disabled (manual)", leaseExpiresAt: null });
  });

  test("a held delivery whose webhook was deleted meanwhile is not confirmed", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const w = await subscribe(store, { createdAt: t });
    const d = await heldDelivery(store, t);
    await store.deleteWebhook(w.id);
    expect(await store.confirmHeld([d], t + 2, 20_000)).toEqual([]);
    expect(await store.getDelivery(d.id)).toBeUndefined();
  });

  test("a held test event of a disabled webhook is still confirmed (the test endpoint sends to disabled ones)", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const w = await subscribe(store, { createdAt: t, enabled: false });
    const { hook } = claimHook("hold", 20_000);
    const { deliveries } = await publish(store, { createdAt: t, type: "webhook.test" }, { onlyWebhookId: w.id, claim: hook });
    const d = deliveries[0] as NewDelivery;
    await store.updateWebhook(w.id, { description: "touched" }, t + 1);
    expect((await store.confirmHeld([d], t + 2, 20_000)).map((c) => c.id)).toEqual([d.id]);
  });

  test("deliveries without an ingest claim are ignored by confirmHeld and releaseHeld", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    await subscribe(store, { createdAt: t });
    const { deliveries } = await publish(store, { createdAt: t });
    expect(await store.confirmHeld(deliveries, t + 1, 20_000)).toEqual([]);
    await store.releaseHeld(deliveries, t + 1);
    expect(await deliveryOf(store, (deliveries[0] as NewDelivery).id)).toMatchObject({ status: "pending", nextAttemptAt: t });
  });

  test("held deliveries given back are pending and due at once", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    await subscribe(store, { createdAt: t });
    const d = await heldDelivery(store, t);
    await store.releaseHeld([d], t + 100);
    expect(await deliveryOf(store, d.id)).toMatchObject({ status: "pending", leaseExpiresAt: null, nextAttemptAt: t + 100 });
  });

  test("held deliveries of a webhook disabled while they waited are failed when given back, not made pending", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const w = await subscribe(store, { createdAt: t });
    const d = await heldDelivery(store, t);
    await store.updateWebhook(w.id, { enabled: false, disabledReason: "manual" }, t + 1, "webhook disabled (manual)");
    await store.releaseHeld([d], t + 2);
    expect(await deliveryOf(store, d.id)).toMatchObject({ status: "failed", lastError: "webhook disabled (manual)" });
    expect((await webhookOf(store, w.id)).enabled).toBe(false);
  });
});
