// Claims: due pending deliveries become delivering under a lease, within the per-webhook cap and
// shared fairly; an ingest may claim its own new deliveries ("send", "hold"), and held ones are
// confirmed or given back later. Leases that run out come back.
import { expect, test } from "bun:test";
import type { ClaimedDelivery, NewDelivery, Store } from "../../src/domain/store.ts";
import { describeEveryStore } from "./describe-store.ts";
import { eventRecord, timeAfterIssuedIds } from "./records.ts";
import { claimAll, claimHook, deliveryOf, LEASE_MS, publish, subscribe, webhookOf } from "./steps.ts";

/** `n` due deliveries to each of the given webhooks (one event per delivery, one type per webhook). */
async function backlog(store: Store, at: number, n: number, tenantId = "acme"): Promise<{ webhookId: string; ids: string[] }> {
  const w = await subscribe(store, { createdAt: at, tenantId, events: [`t${at}.${n}.x`] });
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push(((await publish(store, { createdAt: at, tenantId, type: `t${at}.${n}.x` })).deliveries[0] as NewDelivery).id);
  return { webhookId: w.id, ids };
}

const byWebhook = (claims: { webhookId: string }[]) => {
  const out: Record<string, number> = {};
  for (const c of claims) out[c.webhookId] = (out[c.webhookId] ?? 0) + 1;
  return out;
};

/** An event (to the one webhook subscribed) ingested with a hook that holds its delivery for this process. */
async function heldDelivery(store: Store, at: number, leaseMs = 20_000): Promise<NewDelivery> {
  const { hook } = claimHook("hold", leaseMs);
  const { deliveries } = await publish(store, { createdAt: at }, { claim: hook });
  const d = deliveries[0] as NewDelivery;
  expect(d.claim?.as).toBe("hold");
  return d;
}

describeEveryStore("claims", (getStore) => {
  test("due pending deliveries are claimed: delivering under a lease of now + leaseMs, with what sending needs", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const w = await subscribe(store, { createdAt: t, headers: { "x-team": "crm" } });
    const { event, deliveries } = await publish(store, { createdAt: t });
    const id = (deliveries[0] as NewDelivery).id;
    const claims = await claimAll(store, t + 5, { leaseMs: 7_000 });
    expect(claims).toEqual([
      {
        id,
        eventId: event.id,
        webhookId: w.id,
        tenantId: "acme",
        eventType: "member.added",
        status: "delivering",
        attemptsCount: 0,
        retryBase: 0,
        retryStartedAt: null,
        createdAt: t,
        payload: event.payload,
        url: w.url,
        headers: { "x-team": "crm" },
        secret: w.secret,
        previousSecret: null,
        previousSecretExpiresAt: null,
      },
    ]);
    expect(await deliveryOf(store, id)).toMatchObject({ status: "delivering", leaseExpiresAt: t + 7_005 });
  });

  test("a delivery not yet due is not claimed", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    await subscribe(store, { createdAt: t });
    await publish(store, { createdAt: t + 10 });
    expect(await claimAll(store, t + 9)).toEqual([]);
    expect(await claimAll(store, t + 10)).toHaveLength(1);
  });

  test("a claimed delivery is not claimed again while its lease runs", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    await subscribe(store, { createdAt: t });
    await publish(store, { createdAt: t });
    expect(await claimAll(store, t)).toHaveLength(1);
    expect(await claimAll(store, t + LEASE_MS - 1)).toEqual([]);
  });

  test("a claim takes at most its limit, the longest due first", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const { ids } = await backlog(store, t, 5);
    expect((await claimAll(store, t, { limit: 2 })).map((c) => c.id)).toEqual(ids.slice(0, 2));
    expect(await claimAll(store, t, { limit: 0 })).toEqual([]);
  });

  test("the per-webhook cap holds, counting what is already in flight", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const { webhookId } = await backlog(store, t, 6);
    expect(await claimAll(store, t, { perWebhookCap: 2 })).toHaveLength(2);
    expect(await claimAll(store, t, { perWebhookCap: 3, inflight: new Map([[webhookId, 2]]) })).toHaveLength(1);
    expect(await claimAll(store, t, { perWebhookCap: 3, inflight: new Map([[webhookId, 3]]) })).toEqual([]);
  });

  test("a webhook at its cap does not keep another webhook's due work from being claimed", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    // A slow receiver's backlog fills the head of the queue, all due before the other's work.
    const slow = await backlog(store, t, 80);
    const other = await backlog(store, t + 1, 1);
    const claims = await claimAll(store, t + 1, { limit: 4, perWebhookCap: 2, inflight: new Map([[slow.webhookId, 2]]) });
    expect(claims.map((c) => c.id)).toEqual(other.ids);
  });

  test("a claim shares its limit among webhooks with due work, the least busy first", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const a = await backlog(store, t, 6);
    const b = await backlog(store, t + 1, 6);
    expect(byWebhook(await claimAll(store, t + 1, { limit: 4, perWebhookCap: 10 }))).toEqual({ [a.webhookId]: 2, [b.webhookId]: 2 });
    // a has 2 + 3 in flight now, b 2: b's turn first.
    const next = await claimAll(store, t + 1, { limit: 1, perWebhookCap: 10, inflight: new Map([[a.webhookId, 5], [b.webhookId, 2]]) });
    expect(byWebhook(next)).toEqual({ [b.webhookId]: 1 });
  });

  test("an expired lease is recovered: pending again, due at once, and claimable", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const { ids } = await backlog(store, t, 1);
    const id = ids[0] as string;
    await claimAll(store, t, { leaseMs: 1_000 });
    expect(await store.recoverExpiredLeases(t + 999)).toBe(0);
    expect((await deliveryOf(store, id)).status).toBe("delivering");
    expect(await store.recoverExpiredLeases(t + 1_000)).toBe(1);
    expect(await deliveryOf(store, id)).toMatchObject({ status: "pending", leaseExpiresAt: null, nextAttemptAt: t + 1_000, attemptsCount: 0 });
    expect((await claimAll(store, t + 1_000)).map((c) => c.id)).toEqual([id]);
  });

  test("released claims are pending again and due at once; what is no longer delivering is left alone", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const { ids } = await backlog(store, t, 3);
    await claimAll(store, t, { limit: 2 });
    await store.releaseClaims([...ids, "dlv_01ARZ3NDEKTSV4RRFFQ69G5FAV"], t + 50);
    for (const id of ids.slice(0, 2)) {
      expect(await deliveryOf(store, id)).toMatchObject({ status: "pending", leaseExpiresAt: null, nextAttemptAt: t + 50 });
    }
    // Never claimed: still on its own schedule.
    expect(await deliveryOf(store, ids[2] as string)).toMatchObject({ status: "pending", nextAttemptAt: t });
    await store.releaseClaims([], t + 60);
  });

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
    expect(d.claim?.delivery).toEqual(await store.loadForSend(d.id));
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
