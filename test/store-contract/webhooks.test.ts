// Webhooks: one per normalised URL and tenant, changed by PATCH (a disable stops what was
// pending), deleted with everything sent to them.
import { expect, test } from "bun:test";
import type { Store } from "../../src/domain/store.ts";
import { describeEveryStore } from "./describe-store.ts";
import { attemptOutcome, timeAfterIssuedIds, webhookRecord } from "./records.ts";
import { claimAll, deliveryOf, publish, statuses, subscribe, webhookOf } from "./steps.ts";

const DISABLE_AFTER = 3 * 86_400_000;

describeEveryStore("webhooks", (getStore) => {
  test("a webhook inserted is read back field for field, secret headers in plaintext", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const w = webhookRecord({
      createdAt: t,
      events: ["member.added", "order.*"],
      description: "CRM sync",
      headers: { "x-team": "crm", authorization: "Bearer abc123" },
      previousSecret: "whsec_previous",
      previousSecretExpiresAt: t + 3_600_000,
    });
    expect(await store.insertWebhook(w)).toEqual({ ok: true });
    expect(await store.getWebhook(w.id)).toEqual(w);
  });

  test("an unknown id finds nothing", async () => {
    expect(await getStore().getWebhook("wh_01ARZ3NDEKTSV4RRFFQ69G5FAV")).toBeUndefined();
  });

  test("a second webhook for the same URL in the same tenant is a duplicate, and the first stays", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const first = await subscribe(store, { createdAt: t, url: "https://receiver.example/a" });
    const second = webhookRecord({ createdAt: t + 1, url: "https://receiver.example/a", events: ["order.paid"] });
    expect(await store.insertWebhook(second)).toEqual({ ok: false, reason: "duplicate" });
    expect(await store.getWebhook(second.id)).toBeUndefined();
    expect(await store.getWebhook(first.id)).toEqual(first);
  });

  test("a disabled webhook still owns its URL: another for it is a duplicate", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    await subscribe(store, { createdAt: t, url: "https://receiver.example/a", enabled: false });
    const again = webhookRecord({ createdAt: t + 1, url: "https://receiver.example/a" });
    expect(await store.insertWebhook(again)).toEqual({ ok: false, reason: "duplicate" });
  });

  test("the same URL in another tenant is another webhook", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    await subscribe(store, { createdAt: t, url: "https://receiver.example/a", tenantId: "acme" });
    const other = webhookRecord({ createdAt: t + 1, url: "https://receiver.example/a", tenantId: "globex" });
    expect(await store.insertWebhook(other)).toEqual({ ok: true });
  });

  test("the list narrowed to an event type holds exactly the webhooks an event of that type fans out to", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const patterns = [["*"], ["member.*"], ["member.team.*"], ["member.added"], ["hookline.*"], ["hookline.webhook.disabled"], ["webhook.test"], ["order.paid", "member_x.*"]];
    for (const events of patterns) await subscribe(store, { createdAt: t, events });
    const types = ["member.added", "member.team.joined", "members.added", "member_x.added", "order.paid", "hookline.webhook.disabled", "hookline.delivery.exhausted", "webhook.test"];
    let at = t + 1;
    for (const type of types) {
      const listed = (await store.listWebhooks({ limit: 100, tenantId: "acme", eventType: type })).map((w) => w.id).sort();
      const { deliveries } = await publish(store, { createdAt: at++, type });
      expect({ type, listed }).toEqual({ type, listed: deliveries.map((d) => d.webhookId).sort() });
    }
  });

  test("the list narrows to enabled or disabled webhooks", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const on = await subscribe(store, { createdAt: t });
    const off = await subscribe(store, { createdAt: t + 1, enabled: false });
    expect((await store.listWebhooks({ limit: 10, enabled: true })).map((w) => w.id)).toEqual([on.id]);
    expect((await store.listWebhooks({ limit: 10, enabled: false })).map((w) => w.id)).toEqual([off.id]);
  });

  test("an update applies the changes, keeps the other fields, and returns the webhook as stored", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const w = await subscribe(store, { createdAt: t, description: "old" });
    const changes = {
      url: "https://receiver.example/moved",
      events: ["order.*"],
      description: "new",
      headers: { "x-team": "billing", "x-api-key": "k-123" },
    };
    const updated = { ...w, ...changes, updatedAt: t + 100 };
    expect(await store.updateWebhook(w.id, changes, t + 100)).toEqual(updated);
    expect(await store.getWebhook(w.id)).toEqual(updated);
  });

  test("every change moves updatedAt forward, even two in the same millisecond", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const w = await subscribe(store, { createdAt: t });
    const first = await store.updateWebhook(w.id, { description: "one" }, t);
    const second = await store.updateWebhook(w.id, { description: "two" }, t);
    if (typeof first !== "object" || typeof second !== "object") throw new Error("not updated");
    expect(first.updatedAt).toBeGreaterThan(w.updatedAt);
    expect(second.updatedAt).toBeGreaterThan(first.updatedAt);
  });

  test("moving a webhook to the URL of another of its tenant is a duplicate, and nothing changes", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const a = await subscribe(store, { createdAt: t });
    const b = await subscribe(store, { createdAt: t + 1 });
    expect(await store.updateWebhook(b.id, { url: a.url, description: "moved" }, t + 2)).toBe("duplicate");
    expect(await store.getWebhook(b.id)).toEqual(b);
  });

  test("moving a webhook to a URL another tenant uses is allowed", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const theirs = await subscribe(store, { createdAt: t, tenantId: "globex" });
    const ours = await subscribe(store, { createdAt: t + 1 });
    expect(await store.updateWebhook(ours.id, { url: theirs.url }, t + 2)).toMatchObject({ url: theirs.url });
  });

  test("updating an unknown webhook returns undefined", async () => {
    expect(await getStore().updateWebhook("wh_01ARZ3NDEKTSV4RRFFQ69G5FAV", { description: "x" }, 1)).toBeUndefined();
  });

  async function deliveriesInEveryState(store: Store, t: number, webhookId: string) {
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push(((await publish(store, { createdAt: t + i })).deliveries[0] as { id: string }).id);
    // Oldest two claimed; the first of them answered 200: succeeded, delivering, pending, pending.
    const claimed = await claimAll(store, t + 1, { limit: 2 });
    expect(claimed.map((c) => c.id)).toEqual(ids.slice(0, 2));
    await store.recordOutcomes([attemptOutcome({ id: ids[0] as string, webhookId }, { at: t + 2 })], t + 3, DISABLE_AFTER);
    expect(await statuses(store, ids)).toEqual({ succeeded: 1, delivering: 1, pending: 2 });
    return ids;
  }

  test("disabling fails the webhook's pending deliveries with the reason given, in the same call", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const w = await subscribe(store, { createdAt: t });
    const [done, sending, p1, p2] = await deliveriesInEveryState(store, t, w.id);
    const disabled = await store.updateWebhook(w.id, { enabled: false, disabledReason: "manual" }, t + 10, "webhook disabled (manual)");
    expect(disabled).toMatchObject({ enabled: false, disabledReason: "manual" });
    for (const id of [p1, p2] as string[]) {
      expect(await deliveryOf(store, id)).toMatchObject({ status: "failed", lastError: "webhook disabled (manual)", nextAttemptAt: null });
    }
    // What is not pending is not the disable's to fail: sent, or in flight (its outcome decides).
    expect((await deliveryOf(store, done as string)).status).toBe("succeeded");
    expect((await deliveryOf(store, sending as string)).status).toBe("delivering");
  });

  test("disabling one webhook leaves the pending deliveries of the others alone", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const a = await subscribe(store, { createdAt: t });
    const b = await subscribe(store, { createdAt: t });
    const { deliveries } = await publish(store, { createdAt: t + 1 });
    await store.updateWebhook(a.id, { enabled: false, disabledReason: "manual" }, t + 2, "webhook disabled (manual)");
    const ofB = deliveries.find((d) => d.webhookId === b.id);
    expect((await deliveryOf(store, ofB?.id ?? "")).status).toBe("pending");
  });

  test("re-enabling with the failure streak reset clears reason, count and failingSince", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const w = await subscribe(store, { createdAt: t, enabled: false, disabledReason: "gone", failureCount: 4, failingSince: t - 5 });
    const back = await store.updateWebhook(w.id, { enabled: true, disabledReason: null, failureCount: 0, failingSince: null }, t + 1);
    expect(back).toMatchObject({ enabled: true, disabledReason: null, failureCount: 0, failingSince: null });
  });

  test("a delete removes the webhook with its deliveries and their attempts; events stay", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const gone = await subscribe(store, { createdAt: t });
    const kept = await subscribe(store, { createdAt: t });
    const { event, deliveries } = await publish(store, { createdAt: t + 1 });
    const [claimed] = await claimAll(store, t + 1, { limit: 1 });
    const mine = deliveries.find((d) => d.webhookId === gone.id)?.id ?? "";
    const theirs = deliveries.find((d) => d.webhookId === kept.id)?.id ?? "";
    const tried = claimed?.id === mine ? mine : theirs;
    await store.recordOutcomes([attemptOutcome({ id: tried, webhookId: tried === mine ? gone.id : kept.id }, { at: t + 2 })], t + 3, DISABLE_AFTER);
    expect(await store.listAttempts(tried)).toHaveLength(1);

    expect(await store.deleteWebhook(gone.id)).toBe(true);
    expect(await store.getWebhook(gone.id)).toBeUndefined();
    expect(await store.getDelivery(mine)).toBeUndefined();
    expect(await store.listAttempts(mine)).toEqual([]);
    expect(await store.listDeliveries({ webhookId: gone.id, limit: 10 })).toEqual([]);
    expect((await deliveryOf(store, theirs)).webhookId).toBe(kept.id);
    expect(await store.getEvent(event.id)).toEqual(event);
    expect((await store.listEventDeliveries(event.id)).map((d) => d.id)).toEqual([theirs]);
  });

  test("deleting a webhook twice, or one that never was, says false", async () => {
    const store = getStore();
    const w = await subscribe(store, { createdAt: timeAfterIssuedIds() });
    expect(await store.deleteWebhook(w.id)).toBe(true);
    expect(await store.deleteWebhook(w.id)).toBe(false);
    expect(await store.deleteWebhook("wh_01ARZ3NDEKTSV4RRFFQ69G5FAV")).toBe(false);
  });

  test("rotating the secret keeps the old one as previous until the time given, and moves updatedAt", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const w = await subscribe(store, { createdAt: t });
    await store.rotateSecret(w.id, "whsec_second", t + 3_600_000, t + 1);
    const once = await webhookOf(store, w.id);
    expect(once).toMatchObject({ secret: "whsec_second", previousSecret: w.secret, previousSecretExpiresAt: t + 3_600_000 });
    expect(once.updatedAt).toBeGreaterThan(w.updatedAt);
    await store.rotateSecret(w.id, "whsec_third", t + 7_200_000, t + 2);
    expect(await webhookOf(store, w.id)).toMatchObject({ secret: "whsec_third", previousSecret: "whsec_second" });
  });
});
