// GET /v1/stats/deliveries (API.md §12) over HTTP: attempts of real deliveries to real receivers
// in time buckets, scoped to the caller's tenant (a global key: every tenant, or ?tenant=), one
// webhook with webhook_id, and 422 naming the parameter for a window or bucket it refuses.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { expectError, expectInvalid } from "../support/expect-error.ts";
import {
  type CreatedWebhook,
  createEventTypes,
  createWebhook,
  fakeClockAfterIssuedIds,
  json,
  publishEvent,
  receiverTracker,
} from "../support/fixtures.ts";
import { type Harness, harness } from "../support/harness.ts";
import { receiver } from "../support/receiver.ts";

interface Bucket {
  start: string;
  succeeded: number;
  failed: number;
  retried: number;
  p95_ms: number | null;
}

const MINUTE = 60_000;
const clock = fakeClockAfterIssuedIds();
const receivers = receiverTracker();
let h: Harness;
let ok: CreatedWebhook;
let bad: CreatedWebhook;
let elsewhere: CreatedWebhook;
let acmeViewer: string;
let globexAdmin: string;
/** When the first attempts were made: the bucket that holds them. */
let firstAt: number;

beforeAll(async () => {
  h = await harness(
    { security: { allow_http: true, allow_private_networks: true }, delivery: { retry_schedule: [MINUTE] } },
    { clock },
  );
  await createEventTypes(h, ["member.added"]);
  const up = receivers.track(receiver(200));
  const down = receivers.track(receiver(500));
  ok = await createWebhook(h, { tenant_id: "acme", url: `${up.url}/ok`, events: ["member.added"] });
  bad = await createWebhook(h, { tenant_id: "acme", url: `${down.url}/bad`, events: ["member.added"] });
  elsewhere = await createWebhook(h, { tenant_id: "globex", url: `${up.url}/globex`, events: ["member.added"] });
  for (let i = 0; i < 2; i++) await publishEvent(h, { tenant_id: "acme", type: "member.added", data: { i } });
  await publishEvent(h, { tenant_id: "globex", type: "member.added", data: {} });
  firstAt = clock.now();
  await h.dispatcher.dispatchOnce(clock.now()); // ok: 2 succeeded, bad: 2 retried, globex: 1 succeeded
  clock.advance(2 * MINUTE);
  await h.dispatcher.dispatchOnce(clock.now()); // bad's retries: 2 failed (the schedule is exhausted)
  acmeViewer = await h.key("acme", "viewer");
  globexAdmin = await h.key("globex", "admin");
});

afterAll(async () => {
  await h?.close();
  await receivers.stopAll();
});

async function series(query: string, key?: string): Promise<Bucket[]> {
  const res = await h.call("GET", `/v1/stats/deliveries${query}`, key === undefined ? {} : { key });
  expect(res.status, await res.clone().text()).toBe(200);
  return (await json<{ buckets: Bucket[] }>(res)).buckets;
}

function totals(buckets: Bucket[]) {
  return buckets.reduce(
    (t, b) => ({ succeeded: t.succeeded + b.succeeded, retried: t.retried + b.retried, failed: t.failed + b.failed }),
    { succeeded: 0, retried: 0, failed: 0 },
  );
}

const bucketOf = (buckets: Bucket[], at: number) =>
  buckets.find((b) => Date.parse(b.start) <= at && at < Date.parse(b.start) + MINUTE) as Bucket;

describe("the series", () => {
  test("every bucket of the window, aligned and oldest first, each attempt counted once where it started", async () => {
    const buckets = await series("?window=10m&bucket=1m", acmeViewer);
    expect(buckets).toHaveLength(10);
    const starts = buckets.map((b) => Date.parse(b.start));
    expect(starts.every((s, i) => s % MINUTE === 0 && (i === 0 || s - (starts[i - 1] as number) === MINUTE))).toBe(true);
    expect(starts.at(-1)).toBe(Math.floor(clock.now() / MINUTE) * MINUTE);
    expect(totals(buckets)).toEqual({ succeeded: 2, retried: 2, failed: 2 });
    expect(bucketOf(buckets, firstAt)).toMatchObject({ succeeded: 2, retried: 2, failed: 0 });
    expect(bucketOf(buckets, clock.now())).toMatchObject({ succeeded: 0, retried: 0, failed: 2 });
    for (const b of buckets) {
      if (b.succeeded + b.retried + b.failed === 0) expect(b.p95_ms).toBeNull();
      else expect(b.p95_ms).toBeGreaterThanOrEqual(0);
    }
  });

  test("the defaults are 24h in 5m buckets", async () => {
    const buckets = await series("", acmeViewer);
    expect(buckets).toHaveLength(288);
    expect(Date.parse((buckets[1] as Bucket).start) - Date.parse((buckets[0] as Bucket).start)).toBe(5 * MINUTE);
    expect(totals(buckets)).toEqual({ succeeded: 2, retried: 2, failed: 2 });
  });

  test("webhook_id narrows it to that webhook", async () => {
    expect(totals(await series(`?window=1h&webhook_id=${bad.id}`, acmeViewer))).toEqual({ succeeded: 0, retried: 2, failed: 2 });
    expect(totals(await series(`?window=1h&webhook_id=${ok.id}`, acmeViewer))).toEqual({ succeeded: 2, retried: 0, failed: 0 });
  });
});

describe("tenant scoping", () => {
  test("a tenant key sees its own tenant only", async () => {
    expect(totals(await series("?window=1h", globexAdmin))).toEqual({ succeeded: 1, retried: 0, failed: 0 });
  });

  test("a global key sees every tenant, or one with ?tenant=", async () => {
    expect(totals(await series("?window=1h"))).toEqual({ succeeded: 3, retried: 2, failed: 2 });
    expect(totals(await series("?window=1h&tenant=acme"))).toEqual({ succeeded: 2, retried: 2, failed: 2 });
    expect(totals(await series("?window=1h&tenant=nobody"))).toEqual({ succeeded: 0, retried: 0, failed: 0 });
    expect(totals(await series(`?window=1h&tenant=globex&webhook_id=${elsewhere.id}`))).toEqual({
      succeeded: 1,
      retried: 0,
      failed: 0,
    });
  });

  test("another tenant's webhook, or one outside ?tenant=, or none at all → 404", async () => {
    await expectError(await h.call("GET", `/v1/stats/deliveries?webhook_id=${ok.id}`, { key: globexAdmin }), 404, "not_found");
    await expectError(await h.call("GET", `/v1/stats/deliveries?tenant=globex&webhook_id=${ok.id}`), 404, "not_found");
    await expectError(await h.call("GET", `/v1/stats/deliveries?webhook_id=wh_${"0".repeat(26)}`), 404, "not_found");
    await expectError(await h.call("GET", "/v1/stats/deliveries?webhook_id=nope"), 404, "not_found");
  });
});

describe("refusals", () => {
  test.each([
    ["?window=31d", ["window"]],
    ["?window=0m", ["window"]],
    ["?window=1.5h", ["window"]],
    ["?bucket=30s", ["bucket"]],
    ["?window=24h&bucket=1m", ["bucket"]],
    ["?window=1h&bucket=2h", ["bucket"]],
    ["?window=forever&bucket=soon", ["window", "bucket"]],
  ])("%s → 422 naming %p", async (query, fields) => {
    await expectInvalid(await h.call("GET", `/v1/stats/deliveries${query}`, { key: acmeViewer }), ...fields);
  });

  test("a global key's malformed ?tenant= → 422 naming tenant", async () => {
    await expectInvalid(await h.call("GET", "/v1/stats/deliveries?tenant=Not%20A%20Tenant"), "tenant");
  });

  test("no credentials → 401", async () => {
    await expectError(await h.call("GET", "/v1/stats/deliveries", { key: null }), 401, "unauthorized");
  });
});
