// Claims: due pending deliveries become delivering under a lease, within the per-webhook cap and
// shared fairly, none behind a busy webhook's backlog. Leases that run out come back, and claims
// given back (shutdown) are due at once.
import { expect, test } from "bun:test";
import type { NewDelivery, Store } from "../../src/domain/store.ts";
import { describeEveryStore } from "./describe-store.ts";
import { timeAfterIssuedIds } from "./records.ts";
import { claimAll, deliveryOf, LEASE_MS, publish, subscribe } from "./steps.ts";

let backlogs = 0;

/** A new webhook with `n` deliveries due at `at` (one event each, of a type only it subscribes to). */
async function backlog(store: Store, at: number, n: number, tenantId = "acme"): Promise<{ webhookId: string; ids: string[] }> {
  const type = `backlog${++backlogs}.x`;
  const w = await subscribe(store, { createdAt: at, tenantId, events: [type] });
  const published = await Promise.all(Array.from({ length: n }, () => publish(store, { createdAt: at, tenantId, type })));
  return { webhookId: w.id, ids: published.map((p) => (p.deliveries[0] as NewDelivery).id) };
}

const byWebhook = (claims: { webhookId: string }[]) => {
  const out: Record<string, number> = {};
  for (const c of claims) out[c.webhookId] = (out[c.webhookId] ?? 0) + 1;
  return out;
};

describeEveryStore("claims", (getStore) => {
  test("due pending deliveries are claimed: delivering under a lease of now + leaseMs, with what sending needs", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const w = await subscribe(store, { createdAt: t, headers: { "x-team": "crm" } });
    const { event, deliveries } = await publish(store, { createdAt: t });
    const id = (deliveries[0] as NewDelivery).id;
    const claimed = await claimAll(store, t + 5, { leaseMs: 7_000 });
    // A store for several replicas adds the claim's fencing token; what it is is the store's.
    for (const c of claimed) expect(c.claimToken === undefined || typeof c.claimToken === "string").toBe(true);
    const claims = claimed.map(({ claimToken: _, ...rest }) => rest);
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

  test("concurrent claims never hand out the same delivery twice", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const a = await backlog(store, t, 10);
    const b = await backlog(store, t, 10);
    const claims = (await Promise.all(Array.from({ length: 4 }, () => claimAll(store, t, { limit: 8 })))).flat();
    const ids = claims.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    // A claim that lost a row to another may come back short; what is left is still there.
    const rest = (await claimAll(store, t)).map((c) => c.id);
    expect([...ids, ...rest].sort()).toEqual([...a.ids, ...b.ids].sort());
  });

  test("a claim takes at most its limit, the longest due first", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    await subscribe(store, { createdAt: t });
    // Due one after the other: a claim takes them in that order.
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await publish(store, { createdAt: t + i })).deliveries[0]?.id ?? "");
    expect((await claimAll(store, t + 10, { limit: 2 })).map((c) => c.id)).toEqual(ids.slice(0, 2));
    expect(await claimAll(store, t + 10, { limit: 0 })).toEqual([]);
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

  test("a test event to a disabled webhook is not kept behind another webhook's backlog at its cap either", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const slow = await backlog(store, t, 80);
    const off = await subscribe(store, { createdAt: t, enabled: false, events: ["order.paid"] });
    const { deliveries } = await publish(store, { createdAt: t + 1, type: "webhook.test" }, { onlyWebhookId: off.id });
    const claims = await claimAll(store, t + 1, { limit: 4, perWebhookCap: 2, inflight: new Map([[slow.webhookId, 2]]) });
    expect(claims.map((c) => c.id)).toEqual(deliveries.map((d) => d.id));
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
});
