// Housekeeping and retry timing: expired leases, disabling webhooks that keep failing, retention,
// the every/for retry window and Retry-After — all with a clock the test moves.
import { describe, expect, test } from "bun:test";
import pino from "pino";
import { sweepOnce } from "../../src/delivery/sweep.ts";
import {
  cleanupAfterEach,
  createEventTypes,
  createWebhook,
  fakeClockAfterIssuedIds as fakeClock,
  getDelivery,
  getJson,
  type HarnessExtra,
  type HarnessOverrides,
  publishForDelivery,
  type WebhookView,
} from "../support/fixtures.ts";
import { type Harness, harness } from "../support/harness.ts";
import { type Receiver, receiver } from "../support/receiver.ts";

const DAY = 86_400_000;
let h: Harness;
const { track } = cleanupAfterEach(() => h);
// fakeClock here is fakeClockAfterIssuedIds: it starts after the newest id issued so far, since
// ids never go backwards within one `bun test` process and sweeps select by id.

async function setup(overrides: HarnessOverrides = {}, extra: HarnessExtra = {}) {
  h = await harness({ security: { allow_http: true, allow_private_networks: true }, ...overrides }, extra);
  await createEventTypes(h);
}

function sweep(now: number) {
  return sweepOnce({ ...h.deps, wake: () => {} }, now);
}

function subscribe(r: Receiver, events: string[] = ["member.added"]) {
  return createWebhook(h, { tenant_id: "acme", url: `${r.url}/hook`, events });
}

function publish(type = "member.added") {
  return publishForDelivery(h, { tenant_id: "acme", type, data: { n: 1 } });
}

function delivery(id: string) {
  return getDelivery(h, id);
}

function webhook(id: string): Promise<WebhookView> {
  return getJson<WebhookView>(h, `/v1/webhooks/${id}`);
}

describe("leases", () => {
  async function crashedClaim() {
    const clock = fakeClock();
    await setup({}, { clock });
    const r = track(receiver(200));
    await subscribe(r);
    const d = await publish();
    const t0 = clock.now();
    // Another process claims the delivery with a 1 s lease and dies.
    const claims = await h.deps.store.claimDue(t0, { limit: 10, leaseMs: 1_000, perWebhookCap: 10, inflight: new Map() });
    expect(claims.map((c) => c.id)).toEqual([d.deliveryId]);
    expect((await delivery(d.deliveryId)).status).toBe("delivering");
    return { r, d, t0 };
  }

  test("a crashed claimer's lease is kept until it expires, then pending again and delivered", async () => {
    const { r, d, t0 } = await crashedClaim();
    expect(await h.dispatcher.dispatchOnce(t0 + 5_000)).toBe(0);
    expect((await sweep(t0 + 999)).leasesRecovered).toBe(0);
    expect((await delivery(d.deliveryId)).status).toBe("delivering");
    expect(await h.dispatcher.dispatchOnce(t0 + 999)).toBe(0);

    expect((await sweep(t0 + 1_001)).leasesRecovered).toBe(1);
    const back = await delivery(d.deliveryId);
    expect(back).toMatchObject({ status: "pending", attempts_count: 0 });
    expect(Date.parse(back.next_attempt_at as string)).toBe(t0 + 1_001);
    expect(r.received).toHaveLength(0);
    expect(await h.dispatcher.dispatchOnce(t0 + 1_001)).toBe(1);
    expect(r.received).toHaveLength(1);
    expect(await delivery(d.deliveryId)).toMatchObject({ status: "succeeded", attempts_count: 1 });
    expect((await sweep(t0 + 10_000)).leasesRecovered).toBe(0);
  });

  test("a lease has expired at claim time + lease (lease_expires_at itself)", async () => {
    const { r, d, t0 } = await crashedClaim();
    expect((await sweep(t0 + 1_000)).leasesRecovered).toBe(1);
    expect((await delivery(d.deliveryId)).status).toBe("pending");
    expect(await h.dispatcher.dispatchOnce(t0 + 1_000)).toBe(1);
    expect(r.received).toHaveLength(1);
  });
});

describe("delivery.disable_after", () => {
  const config = { delivery: { retry_schedule: [5_000, 5_000, 5_000, 5_000], jitter: 0, disable_after: 10_000 } };

  test("sweepOnce disables a webhook failing for longer and fails its pending deliveries", async () => {
    const clock = fakeClock();
    await setup(config, { clock });
    const r = track(receiver(500));
    const wh = await subscribe(r);
    const first = await publish();
    await h.dispatcher.dispatchOnce();
    clock.advance(5_000);
    await h.dispatcher.dispatchOnce();
    clock.advance(1_000);
    const second = await publish();
    const t0 = clock.now() - 6_000;
    expect((await sweep(t0 + 9_000)).webhooksDisabled).toBe(0);
    expect((await webhook(wh.id)).enabled).toBe(true);

    const report = await sweep(t0 + 11_000);
    expect(report.webhooksDisabled).toBe(1);
    expect(await webhook(wh.id)).toMatchObject({ enabled: false, disabled_reason: "failing" });
    for (const id of [first.deliveryId, second.deliveryId]) {
      expect(await delivery(id)).toMatchObject({ status: "failed", next_attempt_at: null, last_error: "webhook disabled (failing)" });
    }
    clock.advance(60_000);
    expect(await h.dispatcher.dispatchOnce()).toBe(0);
    expect(r.received).toHaveLength(2);
    expect((await sweep(clock.now())).webhooksDisabled).toBe(0);
  });

  test("the dispatcher disables it on the failure past disable_after", async () => {
    const clock = fakeClock();
    await setup(config, { clock });
    const r = track(receiver(500));
    const wh = await subscribe(r);
    const first = await publish();
    await h.dispatcher.dispatchOnce();
    clock.advance(5_000);
    await h.dispatcher.dispatchOnce();
    clock.advance(1_000);
    const second = await publish();
    expect((await webhook(wh.id)).enabled).toBe(true);
    clock.advance(5_000); // 11 s after the first failure; both deliveries are due
    expect(await h.dispatcher.dispatchOnce()).toBe(2);
    expect(await webhook(wh.id)).toMatchObject({ enabled: false, disabled_reason: "failing" });
    for (const id of [first.deliveryId, second.deliveryId]) {
      const d = await delivery(id);
      expect(d.status).toBe("failed");
      expect(d.next_attempt_at).toBeNull();
    }
  });

  test("a success in between resets the streak and failure_count", async () => {
    const clock = fakeClock();
    await setup({ delivery: { retry_schedule: [], jitter: 0, disable_after: 10_000 } }, { clock });
    const r = track(receiver(500));
    const wh = await subscribe(r);
    const t0 = clock.now();
    await publish();
    await h.dispatcher.dispatchOnce();
    clock.advance(6_000);
    await publish();
    await h.dispatcher.dispatchOnce();
    expect((await webhook(wh.id)).failure_count).toBe(2);
    clock.advance(2_000);
    r.answers.push(200);
    await publish();
    await h.dispatcher.dispatchOnce();
    expect((await webhook(wh.id)).failure_count).toBe(0);
    clock.advance(4_000); // t0 + 12 s: a new failure starts a new streak
    await publish();
    await h.dispatcher.dispatchOnce();
    expect(await webhook(wh.id)).toMatchObject({ enabled: true, failure_count: 1 });
    expect((await sweep(t0 + 15_000)).webhooksDisabled).toBe(0);
    expect((await webhook(wh.id)).enabled).toBe(true);
    // The new streak, long enough, still disables it.
    expect((await sweep(t0 + 23_000)).webhooksDisabled).toBe(1);
    expect(await webhook(wh.id)).toMatchObject({ enabled: false, disabled_reason: "failing" });
  });
});

test("retention: finished events older than retention.days are purged; pending and newer ones kept", async () => {
  const clock = fakeClock();
  await setup({ retention: { days: 1 }, delivery: { retry_schedule: [3 * DAY], jitter: 0 } }, { clock });
  await subscribe(track(receiver(200)), ["member.added"]);
  await subscribe(track(receiver(500)), ["invoice.paid"]);
  const t0 = clock.now();
  const noDeliveries = await publish("member.removed");
  const done = await publish("member.added");
  const waiting = await publish("invoice.paid");
  await h.dispatcher.dispatchOnce();
  expect((await delivery(done.deliveryId)).status).toBe("succeeded");
  expect((await delivery(waiting.deliveryId)).status).toBe("pending");

  clock.advance(DAY - 1_000);
  const recent = await publish("member.added");
  await h.dispatcher.dispatchOnce();
  expect((await sweep(clock.now())).eventsPurged).toBe(0);

  clock.advance(2_000);
  expect((await sweep(clock.now())).eventsPurged).toBe(2);
  for (const id of [noDeliveries.eventId, done.eventId]) expect((await h.call("GET", `/v1/events/${id}`)).status).toBe(404);
  expect((await h.call("GET", `/v1/deliveries/${done.deliveryId}`)).status).toBe(404);
  expect((await h.call("GET", `/v1/events/${waiting.eventId}`)).status).toBe(200);
  expect((await delivery(waiting.deliveryId)).status).toBe("pending");
  expect((await h.call("GET", `/v1/events/${recent.eventId}`)).status).toBe(200);
  expect((await delivery(recent.deliveryId)).status).toBe("succeeded");
  expect(clock.now() - t0).toBeGreaterThan(DAY);
  expect((await sweep(clock.now())).eventsPurged).toBe(0);
});

test("retention: each sweep that removed something logs one line with its counts and moves hookline_retention_purged_total", async () => {
  const clock = fakeClock();
  await setup({ retention: { days: 2, payload_days: 1 }, delivery: { retry_schedule: [1_000], jitter: 0 } }, { clock });
  const r = track(receiver(200));
  r.answers.push(500);
  await subscribe(r);
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: "info", base: undefined }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  const sweepLogged = (now: number) => sweepOnce({ ...h.deps, logger, wake: () => {} }, now);
  const purgeLines = () => lines.filter((l) => l.msg === "retention sweep purged");
  const purgedTotal = async () => {
    const text = await (await h.call("GET", "/metrics")).text();
    const out: Record<string, number> = {};
    for (const m of text.matchAll(/^hookline_retention_purged_total\{kind="([a-z_]+)"\} (\d+)$/gm)) out[m[1] as string] = Number(m[2]);
    return out;
  };
  const zero = { events: 0, deliveries: 0, attempts: 0, payloads: 0, idempotency_keys: 0 };
  // Every kind is a series from the first scrape.
  expect(await purgedTotal()).toEqual(zero);

  const t0 = clock.now();
  // One event with a key, delivered on its second attempt; one delivered at once; one no webhook wants.
  const keyed = await h.call("POST", "/v1/events", {
    body: { tenant_id: "acme", type: "member.added", data: { n: 1 }, idempotency_key: "k-1" },
  });
  expect(keyed.status).toBe(202);
  expect(await h.dispatcher.dispatchOnce()).toBe(1);
  clock.advance(1_000);
  await publish();
  await publish("member.removed");
  expect(await h.dispatcher.dispatchOnce()).toBe(2);
  const rows = (table: string) => h.sqlite.query<{ n: number }, []>(`SELECT count(*) AS n FROM ${table}`).get()?.n;
  // The fourth event is Hookline's own hookline.webhook.recovered (500, then 200), sent nowhere.
  expect([rows("events"), rows("deliveries"), rows("attempts")]).toEqual([4, 2, 3]);

  // Nothing old enough: no line, nothing counted.
  await sweepLogged(t0 + DAY - 10_000);
  expect(purgeLines()).toEqual([]);

  // Past payload_days and the idempotency window (24 h): payloads and the key go, rows stay.
  const first = await sweepLogged(t0 + DAY + 5_000);
  expect(first).toMatchObject({ eventsPurged: 0, deliveriesPurged: 0, attemptsPurged: 0, payloadsPruned: 4, keysCleared: 1 });
  expect(purgeLines()).toHaveLength(1);
  expect(purgeLines()[0]).toMatchObject({ level: 30, events: 0, deliveries: 0, attempts: 0, payloads: 4, idempotency_keys: 1 });
  expect(await purgedTotal()).toEqual({ ...zero, payloads: 4, idempotency_keys: 1 });

  // The next sweep finds nothing more: still one line, same counts.
  await sweepLogged(t0 + DAY + 10_000);
  expect(purgeLines()).toHaveLength(1);

  // Past retention.days: the events go with their deliveries and attempts, and the counts say so.
  const second = await sweepLogged(t0 + 2 * DAY + 5_000);
  expect(second).toMatchObject({ eventsPurged: 4, deliveriesPurged: 2, attemptsPurged: 3, payloadsPruned: 0, keysCleared: 0 });
  expect([rows("events"), rows("deliveries"), rows("attempts")]).toEqual([0, 0, 0]);
  expect(purgeLines()).toHaveLength(2);
  expect(purgeLines()[1]).toMatchObject({ level: 30, events: 4, deliveries: 2, attempts: 3, payloads: 0, idempotency_keys: 0 });
  expect(typeof purgeLines()[1]?.pages_reclaimed).toBe("number");
  expect(await purgedTotal()).toEqual({ events: 4, deliveries: 2, attempts: 3, payloads: 4, idempotency_keys: 1 });
});

describe("retry timing through the real dispatcher", () => {
  test("retry_every 1 s for 3 s: attempts at t0, +1 s, +2 s, +3 s, then failed", async () => {
    const clock = fakeClock();
    await setup({ delivery: { retry_every: 1_000, retry_for: 3_000, retry_schedule: [60_000], jitter: 0 } }, { clock });
    const r = track(receiver(500));
    await subscribe(r);
    const d = await publish();
    const t0 = clock.now();
    for (let i = 0; i < 4; i++) {
      expect(await h.dispatcher.dispatchOnce()).toBe(1);
      const now = await delivery(d.deliveryId);
      if (i < 3) {
        expect(now).toMatchObject({ status: "pending", attempts_count: i + 1 });
        expect(Date.parse(now.next_attempt_at as string)).toBe(clock.now() + 1_000);
        expect(await h.dispatcher.dispatchOnce(clock.now() + 999)).toBe(0);
        clock.advance(1_000);
      }
    }
    const end = await delivery(d.deliveryId);
    expect(end).toMatchObject({ status: "failed", attempts_count: 4, next_attempt_at: null });
    expect(end.attempts?.map((a) => Date.parse(a.started_at) - t0)).toEqual([0, 1_000, 2_000, 3_000]);
    clock.advance(60_000);
    expect(await h.dispatcher.dispatchOnce()).toBe(0);
    expect(r.received).toHaveLength(4);
  });

  test("Retry-After: 120 on a 429 postpones the next attempt; on a 500 it is ignored", async () => {
    const clock = fakeClock();
    await setup({ delivery: { retry_schedule: [1_000, 1_000], jitter: 0 } }, { clock });
    const r = track(receiver(200));
    r.answers.push({ status: 429, headers: { "retry-after": "120" } }, { status: 500, headers: { "retry-after": "120" } });
    await subscribe(r);
    const d = await publish();
    await h.dispatcher.dispatchOnce();
    let now = await delivery(d.deliveryId);
    expect(now.status).toBe("pending");
    expect(Date.parse(now.next_attempt_at as string)).toBeGreaterThanOrEqual(clock.now() + 120_000);
    expect(await h.dispatcher.dispatchOnce(clock.now() + 60_000)).toBe(0);
    clock.advance(120_000);
    expect(await h.dispatcher.dispatchOnce()).toBe(1);
    now = await delivery(d.deliveryId);
    expect(now).toMatchObject({ status: "pending", attempts_count: 2 });
    expect(Date.parse(now.next_attempt_at as string)).toBe(clock.now() + 1_000);
    clock.advance(1_000);
    await h.dispatcher.dispatchOnce();
    expect(await delivery(d.deliveryId)).toMatchObject({ status: "succeeded", attempts_count: 3 });
  });
});
