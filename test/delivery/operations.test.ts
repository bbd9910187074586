// Operating Hookline unattended: /metrics moves with traffic, per-webhook health, and Hookline's
// own hookline.* events reach the webhooks that subscribe to them.
import { afterEach, describe, expect, test } from "bun:test";
import { sweepOnce } from "../../src/delivery/sweep.ts";
import type { WebhookStatsView } from "../../src/domain/webhooks/stats.ts";
import {
  createEventTypes,
  createWebhook,
  fakeClockAfterIssuedIds,
  getJson,
  publishEvent,
  receiverTracker,
} from "../support/fixtures.ts";
import { type Harness, harness, ROOT_KEY } from "../support/harness.ts";
import { receiver } from "../support/receiver.ts";

let h: Harness;
const receivers = receiverTracker();
afterEach(async () => {
  await h?.close();
  await receivers.stopAll();
});

const open = { allow_http: true, allow_private_networks: true };

/** The value of one sample line of the Prometheus text, or 0 when absent. */
function sample(text: string, name: string, labels = ""): number {
  const line = text.split("\n").find((l) => l.startsWith(`${name}${labels} `));
  return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : 0;
}

async function metrics(key?: string | null): Promise<string> {
  const res = await h.call("GET", "/metrics", { key: key ?? null });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toContain("text/plain");
  return res.text();
}

describe("/metrics", () => {
  test("counters and gauges move with traffic", async () => {
    h = await harness({ security: open, delivery: { retry_schedule: [60_000] } });
    await createEventTypes(h, ["member.added"]);
    const ok = receivers.track(receiver(200));
    const bad = receivers.track(receiver(500));
    await createWebhook(h, { tenant_id: "acme", url: `${ok.url}/a`, events: ["member.added"] });
    await createWebhook(h, { tenant_id: "acme", url: `${bad.url}/b`, events: ["member.added"] });
    const before = await metrics();
    for (let i = 0; i < 3; i++) await publishEvent(h, { tenant_id: "acme", type: "member.added", data: { i } });
    const queued = await metrics();
    expect(sample(queued, "hookline_events_ingested_total") - sample(before, "hookline_events_ingested_total")).toBe(3);
    expect(sample(queued, "hookline_deliveries_created_total")).toBe(6);
    expect(sample(queued, "hookline_deliveries_pending", '{age="lt_1m"}')).toBe(6);
    expect(sample(queued, "hookline_webhooks", '{state="enabled"}')).toBe(2);
    expect(sample(queued, "hookline_storage_bytes", '{file="database"}')).toBeGreaterThan(0);

    await h.dispatcher.dispatchOnce();
    const after = await metrics();
    expect(sample(after, "hookline_deliveries_total", '{outcome="succeeded"}')).toBe(3);
    expect(sample(after, "hookline_deliveries_total", '{outcome="retry"}')).toBe(3);
    expect(sample(after, "hookline_attempt_duration_seconds_count")).toBe(6);
    expect(sample(after, "hookline_deliveries_pending", '{age="lt_1m"}')).toBe(3);
    expect(sample(after, "hookline_deliveries_in_flight")).toBe(0);
    expect(sample(after, "hookline_http_requests_total", '{method="POST",route="/v1/events",status="202"}')).toBe(3);
    // Connections to the receivers: at most one per attempt in flight, kept for the next ones.
    const opened = sample(after, "hookline_outbound_connections_opened_total");
    expect(opened).toBeGreaterThanOrEqual(2);
    expect(opened).toBeLessThanOrEqual(6);
    expect(sample(after, "hookline_outbound_connections", '{state="idle"}')).toBe(opened);
    expect(sample(after, "hookline_outbound_connections", '{state="open"}')).toBe(opened);
    for (let i = 0; i < 2; i++) await publishEvent(h, { tenant_id: "acme", type: "member.added", data: { i } });
    await h.dispatcher.dispatchOnce();
    const reused = await metrics();
    expect(sample(reused, "hookline_deliveries_total", '{outcome="succeeded"}')).toBe(5);
    expect(sample(reused, "hookline_outbound_connections_opened_total")).toBe(opened);
    expect(sample(reused, "hookline_resident_memory_bytes")).toBeGreaterThan(0);
  });

  test("metrics.require_auth: no key → 401, a tenant key → 403, a global key → 200", async () => {
    h = await harness({ metrics: { require_auth: true } });
    expect((await h.call("GET", "/metrics", { key: null })).status).toBe(401);
    expect((await h.call("GET", "/metrics", { key: await h.key("acme", "admin") })).status).toBe(403);
    await metrics(ROOT_KEY);
    await metrics(await h.key("*", "viewer"));
  });
});

test("GET /v1/webhooks/{id}/stats: attempts, success rate, latency, failures, pending", async () => {
  const clock = fakeClockAfterIssuedIds();
  h = await harness({ security: open, delivery: { retry_schedule: [60_000], jitter: 0 } }, { clock });
  await createEventTypes(h, ["member.added"]);
  const r = receivers.track(receiver(200));
  r.answers.push(500, 200, 503);
  const wh = await createWebhook(h, { tenant_id: "acme", url: `${r.url}/s`, events: ["member.added"] });
  const empty = await getJson<WebhookStatsView>(h, `/v1/webhooks/${wh.id}/stats`);
  expect(empty).toMatchObject({ window: "24h", attempts: 0, success_rate: null, latency_ms: { p50: null, p95: null } });
  for (let i = 0; i < 3; i++) await publishEvent(h, { tenant_id: "acme", type: "member.added", data: { i } });
  await h.dispatcher.dispatchOnce();
  const s = await getJson<WebhookStatsView>(h, `/v1/webhooks/${wh.id}/stats?window=1h`);
  expect(s).toMatchObject({ webhook_id: wh.id, window: "1h", attempts: 3, succeeded: 1, failed: 2 });
  expect(s.success_rate).toBeCloseTo(1 / 3, 3);
  expect(s.latency_ms.p50).toBeGreaterThanOrEqual(0);
  expect(s.latency_ms.p95).toBeGreaterThanOrEqual(s.latency_ms.p50 as number);
  expect(Date.parse(s.next_attempt_at as string)).toBe(clock.now() + 60_000);
  expect(Date.parse(s.oldest_pending_at as string)).toBeLessThanOrEqual(clock.now());
  expect(s.failing_since).not.toBeNull();
  expect((await h.call("GET", `/v1/webhooks/${wh.id}/stats?window=forever`)).status).toBe(422);
  const other = await h.key("globex", "viewer");
  expect((await h.call("GET", `/v1/webhooks/${wh.id}/stats`, { key: other })).status).toBe(404);
});

describe("operational events", () => {
  test("a failing webhook disabled by Hookline emits hookline.webhook.disabled (and exhausted) to a subscriber", async () => {
    const clock = fakeClockAfterIssuedIds();
    h = await harness({ security: open, delivery: { retry_schedule: [1_000], jitter: 0, disable_after: 1_500 } }, { clock });
    await createEventTypes(h, ["member.added"]);
    const dead = receivers.track(receiver(500));
    const ops = receivers.track(receiver(200));
    const wh = await createWebhook(h, { tenant_id: "acme", url: `${dead.url}/dead`, events: ["member.added"] });
    // Operational types must be named: `*` alone would not receive them.
    await createWebhook(h, {
      tenant_id: "acme",
      url: `${ops.url}/ops`,
      events: ["*", "hookline.webhook.disabled", "hookline.delivery.exhausted"],
    });
    // Another tenant's subscriber hears nothing about acme.
    const foreign = receivers.track(receiver(200));
    await createWebhook(h, { tenant_id: "globex", url: `${foreign.url}/x`, events: ["hookline.webhook.disabled"] });

    await publishEvent(h, { tenant_id: "acme", type: "member.added", data: { n: 1 } });
    const deliveryId = (await getJson<{ data: { id: string }[] }>(h, `/v1/webhooks/${wh.id}/deliveries`)).data[0]?.id;
    await h.dispatcher.dispatchOnce(); // dead: 500 (retry in 1 s); ops: member.added delivered
    clock.advance(1_000);
    await h.dispatcher.dispatchOnce(); // dead: 500 again → exhausted
    clock.advance(1_000);
    const report = await sweepOnce({ ...h.deps, wake: () => {} }, clock.now()); // failing for 2 s > 1.5 s
    expect(report.webhooksDisabled).toBe(1);
    await h.dispatcher.dispatchOnce();

    const types = ops.received.map((r) => JSON.parse(r.body).type as string);
    expect(types.sort()).toEqual(["hookline.delivery.exhausted", "hookline.webhook.disabled", "member.added"]);
    const disabled = JSON.parse(ops.received.find((r) => r.body.includes("hookline.webhook.disabled"))?.body ?? "{}");
    expect(disabled).toMatchObject({
      type: "hookline.webhook.disabled",
      tenant_id: "acme",
      data: { webhook_id: wh.id, url: `${dead.url}/dead`, reason: "failing", failure_count: 1 },
    });
    const exhausted = JSON.parse(ops.received.find((r) => r.body.includes("hookline.delivery.exhausted"))?.body ?? "{}");
    expect(exhausted.data).toMatchObject({ delivery_id: deliveryId, webhook_id: wh.id, event_type: "member.added", attempts: 2, last_status_code: 500, last_error: "HTTP 500" });
    expect(foreign.received).toHaveLength(0);
    // Recorded like any event.
    const listed = await getJson<{ data: { type: string }[] }>(h, "/v1/events?tenant=acme&type=hookline.webhook.disabled");
    expect(listed.data).toHaveLength(1);
  });

  test("410 Gone emits hookline.webhook.disabled with reason gone; a recovered webhook emits recovered", async () => {
    h = await harness({ security: open, delivery: { retry_schedule: [0, 0], jitter: 0 } });
    await createEventTypes(h, ["member.added"]);
    const ops = receivers.track(receiver(200));
    await createWebhook(h, {
      tenant_id: "acme",
      url: `${ops.url}/ops`,
      events: ["hookline.webhook.disabled", "hookline.webhook.recovered"],
    });
    const flaky = receivers.track(receiver(200));
    flaky.answers.push(503);
    const f = await createWebhook(h, { tenant_id: "acme", url: `${flaky.url}/f`, events: ["member.added"] });
    const gone = receivers.track(receiver(410));
    const g = await createWebhook(h, { tenant_id: "acme", url: `${gone.url}/g`, events: ["member.added"] });
    await publishEvent(h, { tenant_id: "acme", type: "member.added", data: {} });
    await h.dispatcher.dispatchOnce(); // flaky 503, gone 410 → disabled
    await h.dispatcher.dispatchOnce(); // flaky 200 → recovered; ops gets disabled
    await h.dispatcher.dispatchOnce(); // ops gets recovered
    const bodies = ops.received.map((r) => JSON.parse(r.body) as { type: string; data: Record<string, unknown> });
    expect(bodies.find((b) => b.type === "hookline.webhook.disabled")?.data).toMatchObject({ webhook_id: g.id, reason: "gone" });
    expect(bodies.find((b) => b.type === "hookline.webhook.recovered")?.data).toMatchObject({ webhook_id: f.id });
    expect(bodies).toHaveLength(2);
  });

  test("hookline.* types are listed as built in and cannot be published by clients", async () => {
    h = await harness();
    const types = await getJson<{ data: { name: string; builtin: boolean }[] }>(h, "/v1/event-types");
    for (const name of ["hookline.webhook.disabled", "hookline.delivery.exhausted", "hookline.webhook.recovered"]) {
      expect(types.data.find((t) => t.name === name)?.builtin).toBe(true);
    }
    const res = await h.call("POST", "/v1/events", { body: { tenant_id: "acme", type: "hookline.webhook.disabled", data: {} } });
    expect(res.status).toBe(422);
  });
});

test("retention deletes in bounded batches while the API keeps answering, and gives the space back", async () => {
  const clock = fakeClockAfterIssuedIds();
  h = await harness({ retention: { days: 1 }, rate_limit: { per_minute: 0 } }, { clock });
  await createEventTypes(h, ["member.added"]);
  const N = 1_600;
  const pad = "p".repeat(2_000);
  await Promise.all(
    Array.from({ length: 8 }, async (_, c) => {
      for (let i = c; i < N; i += 8) await publishEvent(h, { tenant_id: "acme", type: "member.added", data: { i, pad } });
    }),
  );
  clock.advance(2 * 86_400_000);
  // Count the batches the sweep asks for, and serve API calls while it runs.
  const store = h.deps.store;
  const batches: number[] = [];
  const purge = store.purgeFinished.bind(store);
  store.purgeFinished = async (before, limit) => {
    const n = await purge(before, limit);
    batches.push(n.events);
    return n;
  };
  let answered = 0;
  let sweeping = true;
  const api = (async () => {
    while (sweeping) {
      const res = await h.call("GET", "/v1/webhooks");
      expect(res.status).toBe(200);
      answered++;
    }
  })();
  const report = await sweepOnce({ ...h.deps, wake: () => {} }, clock.now());
  sweeping = false;
  await api;
  expect(report.eventsPurged).toBe(N);
  expect(batches.length).toBeGreaterThanOrEqual(4);
  expect(Math.max(...batches)).toBeLessThanOrEqual(500);
  expect(answered).toBeGreaterThan(1);
  expect(report.pagesReclaimed).toBeGreaterThan(0);
  const left = await getJson<{ data: unknown[] }>(h, "/v1/events");
  expect(left.data).toHaveLength(0);
});

test("retention.payload_days drops finished payloads, keeps the log, and refuses to resend them", async () => {
  const clock = fakeClockAfterIssuedIds();
  h = await harness({ security: open, retention: { days: 30, payload_days: 1 }, delivery: { retry_schedule: [0] } }, { clock });
  await createEventTypes(h, ["member.added"]);
  const r = receivers.track(receiver(500));
  const wh = await createWebhook(h, { tenant_id: "acme", url: `${r.url}/p`, events: ["member.added"] });
  const ev = await publishEvent(h, { tenant_id: "acme", type: "member.added", data: { secret_sauce: 42 } });
  await h.dispatcher.dispatchOnce();
  await h.dispatcher.dispatchOnce(); // second failure: the delivery is failed (finished)
  const kept = await publishEvent(h, { tenant_id: "acme", type: "member.added", data: { n: 2 } }); // still pending
  clock.advance(2 * 86_400_000);
  const report = await sweepOnce({ ...h.deps, wake: () => {} }, clock.now());
  // The failed event, and Hookline's own hookline.delivery.exhausted notice about it.
  expect(report.payloadsPruned).toBe(2);
  const pruned = await getJson<{ data: unknown; payload_pruned: boolean; deliveries: { id: string; status: string }[] }>(
    h,
    `/v1/events/${ev.id}`,
  );
  expect(pruned).toMatchObject({ data: null, payload_pruned: true });
  expect(pruned.deliveries[0]?.status).toBe("failed");
  const alive = await getJson<{ data: unknown; payload_pruned: boolean }>(h, `/v1/events/${kept.id}`);
  expect(alive).toMatchObject({ data: { n: 2 }, payload_pruned: false });
  // Nothing left to send: a retry is a conflict and recover skips it.
  const retry = await h.call("POST", `/v1/deliveries/${pruned.deliveries[0]?.id}/retry`);
  expect(retry.status).toBe(409);
  const recover = await h.call("POST", `/v1/webhooks/${wh.id}/recover`, { body: { since: "2000-01-01T00:00:00Z" } });
  expect(await recover.json()).toEqual({ requeued: 0 });
});
