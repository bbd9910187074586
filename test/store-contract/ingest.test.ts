// Ingest: an event and its fan-out committed together; idempotency keys replay or conflict
// within their window, per tenant; the fan-out follows the webhooks' patterns as they are now.
import { expect, test } from "bun:test";
import type { IngestResult, Store } from "../../src/domain/store.ts";
import { describeEveryStore } from "./describe-store.ts";
import { eventRecord, timeAfterIssuedIds } from "./records.ts";
import { deliveryOf, publish, subscribe } from "./steps.ts";

/** The webhook ids an event of `type` (of tenant acme) fans out to. */
async function fannedOutTo(store: Store, at: number, type: string): Promise<string[]> {
  const { deliveries } = await publish(store, { createdAt: at, type });
  return deliveries.map((d) => d.webhookId).sort();
}

describeEveryStore("ingest", (getStore) => {
  test("a new event is stored with one pending delivery per subscribed webhook, due at once", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const a = await subscribe(store, { createdAt: t });
    const b = await subscribe(store, { createdAt: t });
    const event = eventRecord({ createdAt: t + 1 });
    const res = await store.ingest({ event, idempotencySince: t });
    if (res.kind !== "created") throw new Error(res.kind);
    expect(res.event).toEqual(event);
    expect(await store.getEvent(event.id)).toEqual(event);
    expect(res.deliveries.map((d) => d.webhookId).sort()).toEqual([a.id, b.id].sort());
    for (const d of res.deliveries) {
      expect(d.claim).toBeUndefined();
      expect(await deliveryOf(store, d.id)).toEqual({
        id: d.id,
        eventId: event.id,
        webhookId: d.webhookId,
        tenantId: "acme",
        eventType: "member.added",
        status: "pending",
        attemptsCount: 0,
        retryBase: 0,
        retryStartedAt: null,
        nextAttemptAt: t + 1,
        leaseExpiresAt: null,
        lastStatusCode: null,
        lastError: null,
        createdAt: t + 1,
        updatedAt: t + 1,
      });
    }
    expect((await store.listEventDeliveries(event.id)).map((d) => d.id).sort()).toEqual(res.deliveries.map((d) => d.id).sort());
  });

  test("an event nobody subscribes to is stored with no delivery", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    await subscribe(store, { createdAt: t, events: ["order.paid"] });
    const { event, deliveries } = await publish(store, { createdAt: t + 1 });
    expect(deliveries).toEqual([]);
    expect(await store.getEvent(event.id)).toEqual(event);
  });

  test("the same key and request within the window replay the first event with its delivery count", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    await subscribe(store, { createdAt: t });
    await subscribe(store, { createdAt: t });
    const { event: first } = await publish(store, { createdAt: t + 1, idempotencyKey: "k1" });
    const again = eventRecord({ createdAt: t + 2, idempotencyKey: "k1" });
    expect(await store.ingest({ event: again, idempotencySince: t + 1 })).toEqual({ kind: "replay", event: first, deliveries: 2 });
    expect(await store.getEvent(again.id)).toBeUndefined();
    expect(await store.listEvents({ limit: 10 })).toEqual([first]);
  });

  test("the same key with another request within the window is a conflict naming the first event", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const { event: first } = await publish(store, { createdAt: t, idempotencyKey: "k1" });
    const other = eventRecord({ createdAt: t + 1, idempotencyKey: "k1", requestHash: "another-hash" });
    expect(await store.ingest({ event: other, idempotencySince: t })).toEqual({ kind: "conflict", event: first });
    expect(await store.getEvent(other.id)).toBeUndefined();
  });

  test("a key used before the window no longer counts: a new event is created and owns the key from then on", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const { event: old } = await publish(store, { createdAt: t, idempotencyKey: "k1" });
    const { event: renewed } = await publish(store, { createdAt: t + 10, idempotencyKey: "k1" }, { idempotencySince: t + 1 });
    // The old event keeps its history; the key now replays the new one.
    expect((await store.getEvent(old.id))?.id).toBe(old.id);
    const third = eventRecord({ createdAt: t + 11, idempotencyKey: "k1" });
    const res = await store.ingest({ event: third, idempotencySince: t + 1 });
    expect(res).toMatchObject({ kind: "replay", event: { id: renewed.id } });
  });

  test("the window includes its first millisecond: a key used exactly at idempotencySince still replays", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const { event: first } = await publish(store, { createdAt: t, idempotencyKey: "k1" });
    const res = await store.ingest({ event: eventRecord({ createdAt: t + 5, idempotencyKey: "k1" }), idempotencySince: t });
    expect(res).toMatchObject({ kind: "replay", event: { id: first.id } });
  });

  test("idempotency keys are per tenant: another tenant's use of a key is no replay", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    await publish(store, { createdAt: t, idempotencyKey: "k1", tenantId: "acme" });
    const theirs = await publish(store, { createdAt: t + 1, idempotencyKey: "k1", tenantId: "globex", requestHash: "other" });
    expect(theirs.event.tenantId).toBe("globex");
  });

  test("events without a key are never replays of one another", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const payload = '{"same":true}';
    await publish(store, { createdAt: t, payload });
    await publish(store, { createdAt: t, payload });
    expect(await store.listEvents({ limit: 10 })).toHaveLength(2);
  });

  test("concurrent ingests with one key and request create one event; the others replay it", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    await subscribe(store, { createdAt: t });
    const events = Array.from({ length: 6 }, (_, i) => eventRecord({ createdAt: t + 1 + i, idempotencyKey: "k1" }));
    const results = await Promise.all(events.map((event) => store.ingest({ event, idempotencySince: t })));
    const created = results.filter((r) => r.kind === "created");
    expect(created).toHaveLength(1);
    const id = (created[0] as IngestResult).event.id;
    for (const r of results.filter((x) => x.kind !== "created")) expect(r).toMatchObject({ kind: "replay", event: { id }, deliveries: 1 });
    expect(await store.listEvents({ limit: 10 })).toHaveLength(1);
  });

  test("concurrent ingests with one key but different requests create one event; the others conflict with it", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const events = Array.from({ length: 4 }, (_, i) => eventRecord({ createdAt: t + i, idempotencyKey: "k1", requestHash: `hash-${i}` }));
    const results = await Promise.all(events.map((event) => store.ingest({ event, idempotencySince: t })));
    const created = results.filter((r) => r.kind === "created");
    expect(created).toHaveLength(1);
    const id = (created[0] as IngestResult).event.id;
    for (const r of results.filter((x) => x.kind !== "created")) expect(r).toMatchObject({ kind: "conflict", event: { id } });
  });

  test("concurrent ingests of distinct events are each created with their own deliveries", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const w = await subscribe(store, { createdAt: t });
    const events = Array.from({ length: 25 }, (_, i) => eventRecord({ createdAt: t + 1 + i }));
    const results = await Promise.all(events.map((event) => store.ingest({ event, idempotencySince: t })));
    expect(results.map((r) => r.kind)).toEqual(events.map(() => "created"));
    for (const [i, r] of results.entries()) {
      if (r.kind !== "created") continue;
      expect(r.event.id).toBe((events[i] as { id: string }).id);
      expect(r.deliveries.map((d) => d.webhookId)).toEqual([w.id]);
    }
    expect(await store.listDeliveries({ webhookId: w.id, limit: 100 })).toHaveLength(25);
  });

  test("a webhook gets its type by exact name; others named get nothing", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const added = await subscribe(store, { createdAt: t, events: ["member.added"] });
    await subscribe(store, { createdAt: t, events: ["member.removed", "order.paid"] });
    expect(await fannedOutTo(store, t + 1, "member.added")).toEqual([added.id]);
  });

  test("'*' matches every type of the tenant's own, and none of Hookline's (hookline.*, webhook.test)", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const all = await subscribe(store, { createdAt: t, events: ["*"] });
    expect(await fannedOutTo(store, t + 1, "member.added")).toEqual([all.id]);
    expect(await fannedOutTo(store, t + 2, "billing.invoice.paid")).toEqual([all.id]);
    expect(await fannedOutTo(store, t + 3, "hookline.delivery.exhausted")).toEqual([]);
    expect(await fannedOutTo(store, t + 4, "webhook.test")).toEqual([]);
  });

  test("a prefix pattern matches every type below it at any depth, and not a type that merely starts alike", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const members = await subscribe(store, { createdAt: t, events: ["member.*"] });
    const team = await subscribe(store, { createdAt: t, events: ["member.team.*"] });
    expect(await fannedOutTo(store, t + 1, "member.added")).toEqual([members.id]);
    expect(await fannedOutTo(store, t + 2, "member.team.joined")).toEqual([members.id, team.id].sort());
    expect(await fannedOutTo(store, t + 3, "members.added")).toEqual([]);
    expect(await fannedOutTo(store, t + 4, "member_x.added")).toEqual([]);
    expect(await fannedOutTo(store, t + 5, "team.member.added")).toEqual([]);
  });

  test("an operational type reaches webhooks that name it, exactly or by its prefix", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const exact = await subscribe(store, { createdAt: t, events: ["hookline.delivery.exhausted"] });
    const prefix = await subscribe(store, { createdAt: t, events: ["hookline.*"] });
    await subscribe(store, { createdAt: t, events: ["*"] });
    expect(await fannedOutTo(store, t + 1, "hookline.delivery.exhausted")).toEqual([exact.id, prefix.id].sort());
    expect(await fannedOutTo(store, t + 2, "hookline.webhook.disabled")).toEqual([prefix.id]);
  });

  test("a webhook whose several patterns match gets one delivery", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const w = await subscribe(store, { createdAt: t, events: ["member.added", "member.*", "*"] });
    expect(await fannedOutTo(store, t + 1, "member.added")).toEqual([w.id]);
  });

  test("disabled webhooks and other tenants' webhooks get no delivery", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const on = await subscribe(store, { createdAt: t });
    await subscribe(store, { createdAt: t, enabled: false });
    await subscribe(store, { createdAt: t, tenantId: "globex" });
    expect(await fannedOutTo(store, t + 1, "member.added")).toEqual([on.id]);
  });

  test("the fan-out follows webhook changes made in this process at once: created, re-subscribed, disabled, deleted", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const a = await subscribe(store, { createdAt: t });
    expect(await fannedOutTo(store, t + 1, "member.added")).toEqual([a.id]);
    const b = await subscribe(store, { createdAt: t + 2, events: ["order.paid"] });
    expect(await fannedOutTo(store, t + 3, "member.added")).toEqual([a.id]);
    await store.updateWebhook(b.id, { events: ["member.*"] }, t + 4);
    expect(await fannedOutTo(store, t + 5, "member.added")).toEqual([a.id, b.id].sort());
    await store.updateWebhook(a.id, { enabled: false, disabledReason: "manual" }, t + 6, "webhook disabled (manual)");
    expect(await fannedOutTo(store, t + 7, "member.added")).toEqual([b.id]);
    await store.deleteWebhook(b.id);
    expect(await fannedOutTo(store, t + 8, "member.added")).toEqual([]);
    await store.updateWebhook(a.id, { enabled: true, disabledReason: null }, t + 9);
    expect(await fannedOutTo(store, t + 10, "member.added")).toEqual([a.id]);
  });

  test("the test endpoint's event goes to its one webhook, disabled or not, whatever that webhook's patterns", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const target = await subscribe(store, { createdAt: t, events: ["order.paid"], enabled: false });
    await subscribe(store, { createdAt: t, events: ["*", "webhook.test"] });
    const { deliveries } = await publish(store, { createdAt: t + 1, type: "webhook.test" }, { onlyWebhookId: target.id });
    expect(deliveries.map((d) => d.webhookId)).toEqual([target.id]);
    expect(await deliveryOf(store, (deliveries[0] as { id: string }).id)).toMatchObject({ status: "pending", eventType: "webhook.test" });
  });

  test("the test endpoint's event for another tenant's webhook is stored with no delivery", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const theirs = await subscribe(store, { createdAt: t, tenantId: "globex" });
    const { deliveries } = await publish(store, { createdAt: t + 1, type: "webhook.test" }, { onlyWebhookId: theirs.id });
    expect(deliveries).toEqual([]);
  });

  test("what a send needs is read back with the delivery: the payload as ingested, the webhook's URL, headers, secrets", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const w = await subscribe(store, { createdAt: t, headers: { "x-team": "crm", authorization: "Bearer s3cret" } });
    const { event, deliveries } = await publish(store, { createdAt: t + 1, data: { user_id: "u_1", note: "é ✓" } });
    const d = deliveries[0] as { id: string };
    expect(await store.loadForSend(d.id)).toEqual({
      id: d.id,
      eventId: event.id,
      webhookId: w.id,
      tenantId: "acme",
      eventType: "member.added",
      status: "pending",
      attemptsCount: 0,
      retryBase: 0,
      retryStartedAt: null,
      createdAt: t + 1,
      payload: event.payload,
      url: w.url,
      headers: w.headers,
      secret: w.secret,
      previousSecret: null,
      previousSecretExpiresAt: null,
    });
  });
});
