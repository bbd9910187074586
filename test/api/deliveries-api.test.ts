// Deliveries API, test events, secret rotation and recover (API.md §4, §6, §7, §10), with real
// loopback receivers and a clock the test moves.
import { describe, expect, test } from "bun:test";
import { createHmac, randomBytes } from "node:crypto";
import { Webhook } from "standardwebhooks";
import {
  cleanupAfterEach,
  type AttemptView as Attempt,
  createEventTypes,
  createWebhook,
  type DeliveryView as Delivery,
  fakeClock,
  getDelivery,
  type HarnessExtra,
  type HarnessOverrides,
  json,
  type Page,
  publishForDelivery,
} from "../support/fixtures.ts";
import { expectError, expectInvalid } from "../support/expect-error.ts";
import { type Harness, harness } from "../support/harness.ts";
import { type Receiver, receiver } from "../support/receiver.ts";

let h: Harness;
const { track } = cleanupAfterEach(() => h);

// The fake clocks start at the real time (fakeClock's default): standardwebhooks refuses
// timestamps more than 5 minutes off.

async function setup(overrides: HarnessOverrides = {}, extra: HarnessExtra = {}) {
  h = await harness(
    {
      security: { allow_http: true, allow_private_networks: true },
      signing: { hex_header: "X-Signature", rotation_overlap: 60_000 },
      ...overrides,
    },
    extra,
  );
  await createEventTypes(h, ["member.added", "invoice.paid"]);
}

function subscribe(r: Receiver, events: string[] = ["member.added"], tenant = "acme") {
  return createWebhook(h, { tenant_id: tenant, url: `${r.url}/${tenant}`, events });
}

function publish(type = "member.added", data: Record<string, unknown> = { n: 1 }, tenant = "acme") {
  return publishForDelivery(h, { tenant_id: tenant, type, data });
}

function delivery(id: string): Promise<Delivery> {
  return getDelivery(h, id);
}

async function list(webhookId: string, query = ""): Promise<Page<Delivery>> {
  const res = await h.call("GET", `/v1/webhooks/${webhookId}/deliveries${query}`);
  expect(res.status).toBe(200);
  return json<Page<Delivery>>(res);
}

describe("reading deliveries", () => {
  test("webhook deliveries: newest first, status filter, cursor pages; a delivery with its attempts", async () => {
    await setup({ delivery: { retry_schedule: [3_600_000], jitter: 0 } });
    const r = track(receiver(200));
    r.answers.push(200, 500);
    const wh = await subscribe(r);
    const d1 = await publish();
    await h.dispatcher.dispatchOnce();
    const d2 = await publish();
    await h.dispatcher.dispatchOnce();
    const d3 = await publish();

    expect((await list(wh.id)).data.map((d) => d.id)).toEqual([d3.deliveryId, d2.deliveryId, d1.deliveryId]);
    expect((await list(wh.id, "?status=succeeded")).data.map((d) => d.id)).toEqual([d1.deliveryId]);
    expect((await list(wh.id, "?status=pending")).data.map((d) => d.id)).toEqual([d3.deliveryId, d2.deliveryId]);
    expect((await list(wh.id, "?status=failed")).data).toEqual([]);
    await expectInvalid(await h.call("GET", `/v1/webhooks/${wh.id}/deliveries?status=done`), "status");

    const p1 = await list(wh.id, "?limit=2");
    expect(p1.data.map((d) => d.id)).toEqual([d3.deliveryId, d2.deliveryId]);
    expect(p1.next_cursor).not.toBeNull();
    const p2 = await list(wh.id, `?limit=2&cursor=${p1.next_cursor}`);
    expect(p2.data.map((d) => d.id)).toEqual([d1.deliveryId]);
    expect(p2.next_cursor).toBeNull();

    const ok = await delivery(d1.deliveryId);
    expect(ok).toMatchObject({ event_id: d1.eventId, webhook_id: wh.id, event_type: "member.added", status: "succeeded" });
    expect(ok.attempts).toHaveLength(1);
    const a = ok.attempts?.[0] as Attempt;
    expect(Object.keys(a).sort()).toEqual(["duration_ms", "error", "n", "response_body", "started_at", "status_code"]);
    expect(a).toMatchObject({ n: 1, status_code: 200, response_body: "status 200", error: null });
    expect(new Date(a.started_at).toISOString()).toBe(a.started_at);
    expect(Number.isInteger(a.duration_ms) && a.duration_ms >= 0).toBe(true);
    const bad = await delivery(d2.deliveryId);
    expect(bad.attempts?.map((x) => [x.n, x.status_code, x.response_body])).toEqual([[1, 500, "status 500"]]);
    expect((await delivery(d3.deliveryId)).attempts).toEqual([]);
  });

  test("response_body is cut at delivery.max_response_bytes on a UTF-8 boundary", async () => {
    await setup({ delivery: { max_response_bytes: 16 } });
    const r = track(receiver({ status: 200, body: `ab${"😀".repeat(50)}` }));
    r.answers.push({ status: 200, body: `a${"é".repeat(50)}` });
    await subscribe(r);
    const first = await publish();
    await h.dispatcher.dispatchOnce();
    const second = await publish();
    await h.dispatcher.dispatchOnce();
    const cut = [
      (await delivery(first.deliveryId)).attempts?.[0]?.response_body,
      (await delivery(second.deliveryId)).attempts?.[0]?.response_body,
    ];
    // 1 + 7×2 = 15 bytes (an 8th "é" would be split); 2 + 3×4 = 14 bytes.
    expect(cut).toEqual([`a${"é".repeat(7)}`, `ab${"😀".repeat(3)}`]);
    for (const body of cut) {
      expect(Buffer.byteLength(body ?? "", "utf8")).toBeLessThanOrEqual(16);
      expect(body).not.toContain("\uFFFD");
    }
  });

  test("tenancy and roles: another tenant → 404; a viewer reads but may not retry", async () => {
    await setup();
    const r = track(receiver(200));
    await subscribe(r);
    const d = await publish();
    const otherAdmin = await h.key("other", "admin");
    const viewer = await h.key("acme", "viewer");
    const foreign = await h.call("GET", `/v1/deliveries/${d.deliveryId}`, { key: otherAdmin });
    await expectError(foreign, 404, "not_found");
    expect((await h.call("POST", `/v1/deliveries/${d.deliveryId}/retry`, { key: otherAdmin })).status).toBe(404);
    expect((await h.call("GET", `/v1/deliveries/${d.deliveryId}`, { key: viewer })).status).toBe(200);
    const denied = await h.call("POST", `/v1/deliveries/${d.deliveryId}/retry`, { key: viewer });
    await expectError(denied, 403, "forbidden");
    const publisher = await h.key("acme", "publisher");
    expect((await h.call("POST", `/v1/deliveries/${d.deliveryId}/retry`, { key: publisher })).status).toBe(403);
    await h.dispatcher.dispatchOnce(0);
    expect(r.received).toHaveLength(0);
    expect((await h.call("POST", `/v1/deliveries/${d.deliveryId}/retry`, { key: await h.key("acme", "admin") })).status).toBe(202);
    await h.dispatcher.dispatchOnce(0);
    expect(r.received).toHaveLength(1);
    expect((await h.call("GET", "/v1/deliveries/dlv_01ARZ3NDEKTSV4RRFFQ69G5FAV")).status).toBe(404);
  });
});

describe("POST /v1/webhooks/{id}/test", () => {
  test("a signed webhook.test reaches the webhook, also when disabled, and is recorded as an event", async () => {
    await setup();
    const r = track(receiver(200));
    const wh = await subscribe(r);
    for (const enabled of [true, false]) {
      expect((await h.call("PATCH", `/v1/webhooks/${wh.id}`, { body: { enabled } })).status).toBe(200);
      const res = await h.call("POST", `/v1/webhooks/${wh.id}/test`);
      expect(res.status).toBe(202);
      const body = (await res.json()) as { delivery_id: string };
      expect(Object.keys(body)).toEqual(["delivery_id"]);
      expect(await h.dispatcher.dispatchOnce()).toBe(1);
      expect((await delivery(body.delivery_id)).status).toBe("succeeded");
    }
    expect(r.received).toHaveLength(2);
    for (const got of r.received) {
      expect(() => new Webhook(wh.secret).verify(got.body, got.headers)).not.toThrow();
      const payload = JSON.parse(got.body) as { type: string; tenant_id: string; data: Record<string, unknown> };
      expect(payload.type).toBe("webhook.test");
      expect(payload.tenant_id).toBe("acme");
      expect(Object.keys(payload.data).sort()).toEqual(["message", "webhook_id"]);
      expect(payload.data.webhook_id).toBe(wh.id);
      expect(typeof payload.data.message).toBe("string");
    }
    const events = (await (await h.call("GET", "/v1/events?type=webhook.test")).json()) as Page<{ id: string }>;
    expect(events.data.map((e) => e.id).sort()).toEqual(r.received.map((x) => x.headers["webhook-id"] as string).sort());
    expect((await h.call("POST", `/v1/webhooks/${wh.id}/test`, { key: await h.key("acme", "publisher") })).status).toBe(403);
    expect((await h.call("POST", `/v1/webhooks/${wh.id}/test`, { key: await h.key("other", "admin") })).status).toBe(404);
  });
});

describe("POST /v1/webhooks/{id}/rotate-secret", () => {
  test("new secret; given secret; bad secret → 422", async () => {
    await setup();
    const wh = await subscribe(track(receiver(200)));
    const res = await h.call("POST", `/v1/webhooks/${wh.id}/rotate-secret`);
    expect(res.status).toBe(200);
    const { secret } = (await res.json()) as { secret: string };
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(secret).not.toBe(wh.secret);
    const given = `whsec_${randomBytes(32).toString("base64")}`;
    const res2 = await h.call("POST", `/v1/webhooks/${wh.id}/rotate-secret`, { body: { secret: given } });
    expect(res2.status).toBe(200);
    expect(await res2.json()).toEqual({ secret: given });
    for (const bad of ["nope", "whsec_short", `whsec_${randomBytes(16).toString("base64")}`]) {
      await expectInvalid(await h.call("POST", `/v1/webhooks/${wh.id}/rotate-secret`, { body: { secret: bad } }), "secret");
    }
    const shown = (await (await h.call("GET", `/v1/webhooks/${wh.id}`)).json()) as Record<string, unknown>;
    expect(shown.secret).toBeUndefined();
  });

  test("during the overlap both secrets verify, the hex header only the new one; afterwards one entry", async () => {
    const clock = fakeClock();
    await setup({}, { clock });
    const r = track(receiver(200));
    const wh = await subscribe(r);
    const oldSecret = wh.secret;
    const rotated = await h.call("POST", `/v1/webhooks/${wh.id}/rotate-secret`);
    const newSecret = ((await rotated.json()) as { secret: string }).secret;
    await publish();
    await h.dispatcher.dispatchOnce();
    const during = r.received[0];
    expect(during).toBeDefined();
    if (!during) return;
    const entries = (during.headers["webhook-signature"] ?? "").split(" ");
    expect(entries).toHaveLength(2);
    for (const e of entries) expect(e).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(() => new Webhook(newSecret).verify(during.body, during.headers)).not.toThrow();
    expect(() => new Webhook(oldSecret).verify(during.body, during.headers)).not.toThrow();
    const hex = (s: string, body: string) => createHmac("sha256", s).update(body).digest("hex");
    expect(during.headers["x-signature"]).toBe(hex(newSecret, during.body));
    expect(during.headers["x-signature"]).not.toBe(hex(oldSecret, during.body));

    clock.advance(60_001);
    await publish();
    await h.dispatcher.dispatchOnce();
    const after = r.received[1];
    expect(after).toBeDefined();
    if (!after) return;
    expect((after.headers["webhook-signature"] ?? "").split(" ")).toHaveLength(1);
    expect(() => new Webhook(newSecret).verify(after.body, after.headers)).not.toThrow();
    expect(() => new Webhook(oldSecret).verify(after.body, after.headers)).toThrow();
    expect(after.headers["x-signature"]).toBe(hex(newSecret, after.body));
  });
});

describe("POST /v1/webhooks/{id}/recover", () => {
  test("since is required and must be RFC 3339; a disabled webhook → 409", async () => {
    await setup();
    const wh = await subscribe(track(receiver(200)));
    await expectInvalid(await h.call("POST", `/v1/webhooks/${wh.id}/recover`, { body: {} }), "since");
    for (const since of ["yesterday", "2026-13-45T99:00:00Z", "1700000000"]) {
      await expectInvalid(await h.call("POST", `/v1/webhooks/${wh.id}/recover`, { body: { since } }), "since");
    }
    expect((await h.call("PATCH", `/v1/webhooks/${wh.id}`, { body: { enabled: false } })).status).toBe(200);
    const res = await h.call("POST", `/v1/webhooks/${wh.id}/recover`, { body: { since: "2020-01-01T00:00:00Z" } });
    expect(res.status).toBe(409);
  });

  test("only failed deliveries created at or after `since` are requeued", async () => {
    const clock = fakeClock();
    await setup({ delivery: { retry_schedule: [], jitter: 0 } }, { clock });
    const r = track(receiver(500));
    const wh = await subscribe(r);
    const early = await publish();
    await h.dispatcher.dispatchOnce();
    clock.advance(10_000);
    const since = clock.now();
    const late = await publish();
    await h.dispatcher.dispatchOnce();
    r.fallback = 200;
    const ok = await publish();
    await h.dispatcher.dispatchOnce();
    expect([early, late, ok].map((x) => x.deliveryId)).toHaveLength(3);
    expect((await delivery(early.deliveryId)).status).toBe("failed");
    expect((await delivery(late.deliveryId)).status).toBe("failed");
    expect((await delivery(ok.deliveryId)).status).toBe("succeeded");

    const res = await h.call("POST", `/v1/webhooks/${wh.id}/recover`, { body: { since: new Date(since).toISOString() } });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ requeued: 1 });
    expect((await delivery(early.deliveryId)).status).toBe("failed");
    const requeued = await delivery(late.deliveryId);
    expect(requeued.status).toBe("pending");
    expect(Date.parse(requeued.next_attempt_at as string)).toBe(clock.now());
    expect((await delivery(ok.deliveryId)).status).toBe("succeeded");
    expect(await h.dispatcher.dispatchOnce()).toBe(1);
    expect(await delivery(late.deliveryId)).toMatchObject({ status: "succeeded", attempts_count: 2 });
  });
});

test("DELETE /v1/webhooks/{id} removes its deliveries: 404 afterwards", async () => {
  await setup();
  const r = track(receiver(200));
  const wh = await subscribe(r);
  const keep = await subscribe(track(receiver(200)), ["member.added"], "other");
  const d = await publish();
  const kept = await publish("member.added", {}, "other");
  await h.dispatcher.dispatchOnce();
  expect((await h.call("DELETE", `/v1/webhooks/${wh.id}`)).status).toBe(204);
  expect((await h.call("GET", `/v1/deliveries/${d.deliveryId}`)).status).toBe(404);
  expect((await h.call("POST", `/v1/deliveries/${d.deliveryId}/retry`)).status).toBe(404);
  expect((await h.call("GET", `/v1/webhooks/${wh.id}/deliveries`)).status).toBe(404);
  expect((await delivery(kept.deliveryId)).webhook_id).toBe(keep.id);
});
