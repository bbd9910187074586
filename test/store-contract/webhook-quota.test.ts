// The per-tenant quota (security.max_webhooks_per_tenant): an insert counts the tenant's webhooks
// and inserts in one step, so concurrent creates cannot overshoot it; a delete frees room at once.
import { expect, test } from "bun:test";
import { describeEveryStore } from "./describe-store.ts";
import { timeAfterIssuedIds, webhookRecord } from "./records.ts";
import { subscribe } from "./steps.ts";

describeEveryStore("webhook quota", (getStore) => {
  test("an insert under the quota is made; at the quota it is refused with the tenant's count, and nothing is written", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const quota = { maxPerTenant: 2 };
    expect(await store.insertWebhook(webhookRecord({ createdAt: t }), quota)).toEqual({ ok: true });
    expect(await store.insertWebhook(webhookRecord({ createdAt: t + 1 }), quota)).toEqual({ ok: true });
    const third = webhookRecord({ createdAt: t + 2 });
    expect(await store.insertWebhook(third, quota)).toEqual({ ok: false, reason: "quota", count: 2 });
    expect(await store.getWebhook(third.id)).toBeUndefined();
    expect(await store.countWebhooks("acme")).toBe(2);
  });

  test("the quota counts the tenant's disabled webhooks, and no other tenant's", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    await subscribe(store, { createdAt: t, enabled: false });
    await subscribe(store, { createdAt: t, tenantId: "globex" });
    await subscribe(store, { createdAt: t, tenantId: "globex" });
    expect(await store.insertWebhook(webhookRecord({ createdAt: t + 1 }), { maxPerTenant: 1 })).toEqual({ ok: false, reason: "quota", count: 1 });
    expect(await store.insertWebhook(webhookRecord({ createdAt: t + 1, tenantId: "initech" }), { maxPerTenant: 1 })).toEqual({ ok: true });
  });

  test("concurrent inserts never take a tenant past its quota", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const records = Array.from({ length: 12 }, (_, i) => webhookRecord({ createdAt: t + i }));
    const results = await Promise.all(records.map((r) => store.insertWebhook(r, { maxPerTenant: 5 })));
    expect(results.filter((r) => r.ok)).toHaveLength(5);
    expect(results.filter((r) => !r.ok).every((r) => !r.ok && r.reason === "quota")).toBe(true);
    expect(await store.countWebhooks("acme")).toBe(5);
  });

  test("under the quota a duplicate URL is still a duplicate; at the quota the quota is answered", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const first = await subscribe(store, { createdAt: t });
    const same = () => webhookRecord({ createdAt: t + 1, url: first.url });
    expect(await store.insertWebhook(same(), { maxPerTenant: 5 })).toEqual({ ok: false, reason: "duplicate" });
    expect(await store.insertWebhook(same(), { maxPerTenant: 1 })).toEqual({ ok: false, reason: "quota", count: 1 });
  });

  test("a delete frees room under the quota at once", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const w = await subscribe(store, { createdAt: t });
    expect((await store.insertWebhook(webhookRecord({ createdAt: t + 1 }), { maxPerTenant: 1 })).ok).toBe(false);
    await store.deleteWebhook(w.id);
    expect(await store.insertWebhook(webhookRecord({ createdAt: t + 2 }), { maxPerTenant: 1 })).toEqual({ ok: true });
  });

  test("a tenant's count holds enabled and disabled ones, not other tenants'", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    await subscribe(store, { createdAt: t });
    await subscribe(store, { createdAt: t + 1, enabled: false });
    await subscribe(store, { createdAt: t + 2, tenantId: "globex" });
    expect(await store.countWebhooks("acme")).toBe(2);
    expect(await store.countWebhooks("globex")).toBe(1);
    expect(await store.countWebhooks("initech")).toBe(0);
  });

  test("the count moves with each insert and delete at once, and a duplicate does not raise it", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const a = await subscribe(store, { createdAt: t });
    expect(await store.countWebhooks("acme")).toBe(1);
    await store.insertWebhook(webhookRecord({ createdAt: t + 1, url: a.url }));
    expect(await store.countWebhooks("acme")).toBe(1);
    await subscribe(store, { createdAt: t + 2 });
    expect(await store.countWebhooks("acme")).toBe(2);
    await store.deleteWebhook(a.id);
    expect(await store.countWebhooks("acme")).toBe(1);
  });
});
