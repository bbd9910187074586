// Publish → fan-out → signed delivery → retries, with real receivers on loopback and a clock
// the test moves (no sleeping through retry delays).
import { describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { Webhook } from "standardwebhooks";
import {
  cleanupAfterEach,
  createEventTypes,
  createWebhook,
  type DeliveryView,
  fakeClock as startClock,
  firstDeliveryId,
  getJson,
  type HarnessExtra,
  type HarnessOverrides,
  publishEvent,
  type WebhookView,
} from "../support/fixtures.ts";
import { type Harness, harness } from "../support/harness.ts";
import { type Receiver, receiver } from "../support/receiver.ts";

let h: Harness;
const { track } = cleanupAfterEach(() => h);

function fakeClock() {
  return startClock(Date.parse("2026-03-01T10:00:00Z"));
}

async function setup(overrides: HarnessOverrides = {}, extra: HarnessExtra = {}) {
  h = await harness(
    {
      security: { allow_http: true, allow_private_networks: true },
      signing: { hex_header: "X-Signature", rotation_overlap: 3_600_000 },
      ...overrides,
    },
    extra,
  );
  await createEventTypes(h);
}

function subscribe(r: Receiver, events: string[], path = "/hook") {
  return createWebhook(h, { tenant_id: "acme", url: `${r.url}${path}`, events });
}

function publish(type: string, data: Record<string, unknown> = { n: 1 }) {
  return publishEvent(h, { tenant_id: "acme", type, data });
}

async function deliveryOf(eventId: string): Promise<DeliveryView> {
  return getJson<DeliveryView>(h, `/v1/deliveries/${await firstDeliveryId(h, eventId)}`);
}

describe("a published event reaches its subscribers", () => {
  test("exactly one signed POST that standardwebhooks and a plain HMAC verify; other types are not sent", async () => {
    await setup();
    const r = track(receiver(204));
    const other = track(receiver(200));
    const wh = await subscribe(r, ["member.*"]);
    await subscribe(other, ["invoice.paid"]);
    const ev = await publish("member.added", { member_id: "m_1", name: "Zoë" });
    expect(ev.deliveries).toBe(1);
    expect(await h.dispatcher.dispatchOnce()).toBe(1);
    expect(r.received).toHaveLength(1);
    expect(other.received).toHaveLength(0);

    const got = r.received[0] as (typeof r.received)[number];
    expect(got.path).toBe("/hook");
    expect(got.headers["content-type"]).toBe("application/json");
    expect(got.headers["user-agent"]).toMatch(/^Hookline\/\d+\.\d+\.\d+/);
    expect(got.headers["webhook-id"]).toBe(ev.id);
    const body = JSON.parse(got.body);
    expect(body).toEqual({
      id: ev.id,
      type: "member.added",
      timestamp: expect.any(String),
      tenant_id: "acme",
      data: { member_id: "m_1", name: "Zoë" },
    });
    // Standard Webhooks, verified by the reference library, unmodified.
    expect(() => new Webhook(wh.secret).verify(got.body, got.headers)).not.toThrow();
    expect(() => new Webhook(wh.secret).verify(`${got.body} `, got.headers)).toThrow();
    // The simple hex header: HMAC-SHA256 of the raw body keyed by the whole secret string.
    expect(got.headers["x-signature"]).toBe(createHmac("sha256", wh.secret).update(got.body).digest("hex"));

    const d = await deliveryOf(ev.id);
    expect(d).toMatchObject({ status: "succeeded", attempts_count: 1, last_status_code: 204, next_attempt_at: null });
    expect(await h.dispatcher.dispatchOnce()).toBe(0);
    expect(r.received).toHaveLength(1);
  });

  test("500, 500, 200 → succeeded after three attempts, body byte-identical, webhook-id stable", async () => {
    const clock = fakeClock();
    await setup({ delivery: { retry_schedule: [1_000, 5_000, 30_000], jitter: 0 } }, { clock });
    const r = track(receiver(200));
    r.answers.push(500, 500);
    await subscribe(r, ["member.added"]);
    const ev = await publish("member.added");
    await h.dispatcher.dispatchOnce();
    let d = await deliveryOf(ev.id);
    expect(d).toMatchObject({ status: "pending", attempts_count: 1, last_status_code: 500 });
    expect(Date.parse(d.next_attempt_at as string)).toBe(clock.now() + 1_000);
    // Not due yet: nothing is sent.
    expect(await h.dispatcher.dispatchOnce()).toBe(0);
    clock.advance(1_000);
    await h.dispatcher.dispatchOnce();
    d = await deliveryOf(ev.id);
    expect(Date.parse(d.next_attempt_at as string)).toBe(clock.now() + 5_000);
    clock.advance(5_000);
    await h.dispatcher.dispatchOnce();
    d = await deliveryOf(ev.id);
    expect(d.status).toBe("succeeded");
    expect(d.attempts?.map((a) => [a.n, a.status_code])).toEqual([
      [1, 500],
      [2, 500],
      [3, 200],
    ]);
    expect(new Set(r.received.map((x) => x.body)).size).toBe(1);
    expect(new Set(r.received.map((x) => x.headers["webhook-id"])).size).toBe(1);
    expect(r.received.map((x) => Number(x.headers["webhook-timestamp"]))).toEqual([
      Math.floor((clock.now() - 6_000) / 1000),
      Math.floor((clock.now() - 5_000) / 1000),
      Math.floor(clock.now() / 1000),
    ]);
  });

  test("always 500 with a short schedule → failed; failure_count counts it; manual retry and recover", async () => {
    const clock = fakeClock();
    await setup({ delivery: { retry_schedule: [1_000, 2_000], jitter: 0 } }, { clock });
    const r = track(receiver(500));
    const wh = await subscribe(r, ["member.added"]);
    const ev = await publish("member.added");
    for (const step of [0, 1_000, 2_000]) {
      clock.advance(step);
      expect(await h.dispatcher.dispatchOnce()).toBe(1);
    }
    let d = await deliveryOf(ev.id);
    expect(d).toMatchObject({ status: "failed", attempts_count: 3, next_attempt_at: null, last_status_code: 500 });
    const webhook = await getJson<WebhookView>(h, `/v1/webhooks/${wh.id}`);
    expect(webhook.failure_count).toBe(1);

    // A failing manual retry leaves it failed but counts the attempt.
    expect((await h.call("POST", `/v1/deliveries/${d.id}/retry`)).status).toBe(202);
    await h.dispatcher.dispatchOnce();
    d = await deliveryOf(ev.id);
    expect(d).toMatchObject({ status: "failed", attempts_count: 4 });

    // Recover requeues it with a fresh schedule; attempt numbers continue.
    const rec = await h.call("POST", `/v1/webhooks/${wh.id}/recover`, { body: { since: new Date(clock.now() - 60_000).toISOString() } });
    expect(rec.status).toBe(202);
    expect(await rec.json()).toEqual({ requeued: 1 });
    r.fallback = 200;
    r.answers.push(500);
    await h.dispatcher.dispatchOnce();
    d = await deliveryOf(ev.id);
    expect(d).toMatchObject({ status: "pending", attempts_count: 5 });
    expect(Date.parse(d.next_attempt_at as string)).toBe(clock.now() + 1_000);
    clock.advance(1_000);
    await h.dispatcher.dispatchOnce();
    d = await deliveryOf(ev.id);
    expect(d).toMatchObject({ status: "succeeded", attempts_count: 6 });
    expect(d.attempts?.map((a) => a.n)).toEqual([1, 2, 3, 4, 5, 6]);
    const after = await getJson<WebhookView>(h, `/v1/webhooks/${wh.id}`);
    expect(after.failure_count).toBe(0);

    // A manual retry of a succeeded delivery sends once more and stays succeeded.
    expect((await h.call("POST", `/v1/deliveries/${d.id}/retry`)).status).toBe(202);
    await h.dispatcher.dispatchOnce();
    expect((await deliveryOf(ev.id)).attempts_count).toBe(7);
  });

  test("410 Gone disables the webhook at once and fails its other pending deliveries", async () => {
    await setup();
    const r = track(receiver(410));
    const wh = await subscribe(r, ["member.added"]);
    const first = await publish("member.added");
    await h.dispatcher.dispatchOnce();
    const w = await getJson<WebhookView>(h, `/v1/webhooks/${wh.id}`);
    expect(w).toMatchObject({ enabled: false, disabled_reason: "gone" });
    expect((await deliveryOf(first.id)).status).toBe("failed");
    // A disabled webhook gets no new deliveries, and a manual retry is refused.
    expect((await publish("member.added")).deliveries).toBe(0);
    const d = await deliveryOf(first.id);
    expect((await h.call("POST", `/v1/deliveries/${d.id}/retry`)).status).toBe(409);
  });

  test("disabling a webhook fails its pending deliveries with the reason", async () => {
    const clock = fakeClock();
    await setup({ delivery: { retry_schedule: [60_000], jitter: 0 } }, { clock });
    const r = track(receiver(503));
    const wh = await subscribe(r, ["member.added"]);
    const ev = await publish("member.added");
    await h.dispatcher.dispatchOnce();
    expect((await deliveryOf(ev.id)).status).toBe("pending");
    expect((await h.call("PATCH", `/v1/webhooks/${wh.id}`, { body: { enabled: false } })).status).toBe(200);
    const d = await deliveryOf(ev.id);
    expect(d).toMatchObject({ status: "failed", last_error: "webhook disabled (manual)", next_attempt_at: null });
    clock.advance(60_000);
    expect(await h.dispatcher.dispatchOnce()).toBe(0);
  });
});

describe("slow and dead receivers", () => {
  test("a hanging receiver times out while /healthz stays fast", async () => {
    await setup({ delivery: { timeout: 400, retry_schedule: [60_000] } });
    const r = track(receiver("hang"));
    await subscribe(r, ["member.added"]);
    const ev = await publish("member.added");
    const started = Date.now();
    const dispatching = h.dispatcher.dispatchOnce();
    await r.waitFor(1);
    const t0 = performance.now();
    const health = await h.call("GET", "/healthz", { key: null });
    expect(health.status).toBe(200);
    expect(performance.now() - t0).toBeLessThan(200);
    await dispatching;
    expect(Date.now() - started).toBeLessThan(2_000);
    const d = await deliveryOf(ev.id);
    expect(d.status).toBe("pending");
    expect(d.last_status_code).toBeNull();
    expect(d.last_error).toMatch(/^timeout after 400ms/);
  });

  test("a hanging webhook does not delay a fast one (per-webhook cap)", async () => {
    await setup(
      { delivery: { timeout: 3_000, concurrency: 8, per_webhook_concurrency: 2, retry_schedule: [60_000] } },
      { autoDispatch: true },
    );
    const slow = track(receiver("hang"));
    const fast = track(receiver(200));
    await subscribe(slow, ["member.added"]);
    await subscribe(fast, ["member.added", "invoice.paid"]);
    for (let i = 0; i < 6; i++) await publish("member.added", { i });
    for (let i = 0; i < 20; i++) await publish("invoice.paid", { i });
    const t0 = Date.now();
    await fast.waitFor(26, 2_500);
    // Everything for the fast webhook arrived while the slow one still hangs (3 s timeout).
    expect(Date.now() - t0).toBeLessThan(2_500);
    // The slow webhook never had more than its cap in flight.
    expect(slow.received.length).toBe(2);
  });
});
