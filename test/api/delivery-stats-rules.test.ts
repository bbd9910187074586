// The rules behind GET /v1/stats/deliveries (src/domain/stats/): which class an attempt counts
// in, the duration bins its p95 is read from, the buckets a window asks for, and how the
// roll-up's cells become them. Pure: no store, no clock but the `now` passed in.
import { describe, expect, test } from "bun:test";
import type { DeliveryChange } from "../../src/domain/delivery-rules/outcome.ts";
import { ValidationError } from "../../src/domain/errors.ts";
import { attemptClass, binUpperMs, durationBin, tallyAttempts } from "../../src/domain/stats/rollup.ts";
import { buildSeries, planSeries, type SeriesCell } from "../../src/domain/stats/series.ts";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const NOW = Date.UTC(2024, 0, 15, 12, 7, 30);

const state = (status: "pending" | "succeeded" | "failed"): DeliveryChange => ({
  kind: "state",
  status,
  attemptsCount: 1,
  nextAttemptAt: null,
  lastStatusCode: null,
  lastError: null,
  retryStartedAt: 0,
});
const attempted: DeliveryChange = { kind: "attempted", attemptsCount: 2, lastStatusCode: 500, lastError: "HTTP 500" };

describe("an attempt's class, from what its outcome did to the delivery", () => {
  test.each([
    ["a 2xx (automatic or manual)", "succeeded", state("succeeded")],
    ["not a 2xx, another attempt scheduled", "retried", state("pending")],
    ["not a 2xx, retries exhausted, 410, or its webhook disabled", "failed", state("failed")],
    ["a failed manual retry (the delivery left as it was)", "failed", attempted],
  ] as const)("%s → %s", (_, want, change) => {
    expect(attemptClass(change)).toBe(want);
  });
});

describe("duration bins", () => {
  test.each([
    [0, 0, 0],
    [-5, 0, 0],
    [7.9, 7, 7],
    [31, 31, 31],
    [32, 32, 33],
    [33, 32, 33],
    [34, 33, 35],
    [63, 47, 63],
    [64, 48, 67],
    [1_000, 32 + 4 * 16 + 15, 1_023],
    [15_000, durationBin(15_000), 15_359],
  ])("%p ms → bin %p, reported as %p ms", (ms, bin, upper) => {
    expect(durationBin(ms)).toBe(bin);
    expect(binUpperMs(bin)).toBe(upper);
  });

  test("every duration is at most its bin's upper bound, and that bound over it by less than 6.25 %", () => {
    for (let ms = 0; ms < 300_000; ms += ms < 2_000 ? 1 : 97) {
      const upper = binUpperMs(durationBin(ms));
      expect(upper).toBeGreaterThanOrEqual(ms);
      expect(upper - ms).toBeLessThanOrEqual(Math.max(0, ms / 16));
    }
  });

  test("bins grow with durations and each one's bound is one below the next one's first duration", () => {
    for (let bin = 0; bin < 400; bin++) expect(durationBin(binUpperMs(bin) + 1)).toBe(bin + 1);
  });
});

describe("tallying a batch of attempts", () => {
  test("one row per webhook, minute and bin, counts per class, sorted by that key", () => {
    const at = (webhookId: string, startedAt: number, durationMs: number, change: DeliveryChange) => ({
      tenantId: "acme",
      webhookId,
      startedAt,
      durationMs,
      change,
    });
    const rows = tallyAttempts([
      at("wh_b", NOW, 10, state("succeeded")),
      at("wh_a", NOW + MINUTE, 10, state("failed")),
      at("wh_a", NOW, 10, state("pending")),
      at("wh_a", NOW + 1, 10, state("succeeded")),
      at("wh_a", NOW, 500, attempted),
    ]);
    const minute = Math.floor(NOW / MINUTE) * MINUTE;
    expect(rows.map((r) => [r.webhookId, r.minute - minute, r.bin, r.succeeded, r.retried, r.failed])).toEqual([
      ["wh_a", 0, 10, 1, 1, 0],
      ["wh_a", 0, durationBin(500), 0, 0, 1],
      ["wh_a", MINUTE, 10, 0, 0, 1],
      ["wh_b", 0, 10, 1, 0, 0],
    ]);
  });
});

function refused(window: string | undefined, bucket: string | undefined): string[] {
  try {
    planSeries(window, bucket, NOW);
  } catch (e) {
    if (e instanceof ValidationError) return e.errors ?? [];
    throw e;
  }
  throw new Error(`planSeries(${window}, ${bucket}) was accepted`);
}

describe("the buckets a request asks for", () => {
  test.each([
    // window, bucket, count, bucket ms
    ["24h", "5m", 288, 5 * MINUTE],
    [undefined, undefined, 288, 5 * MINUTE],
    ["", "", 288, 5 * MINUTE],
    ["1h", undefined, 60, MINUTE],
    ["30d", undefined, 288, 150 * MINUTE],
    ["7d", "1h", 168, HOUR],
    ["10m", "3m", 4, 3 * MINUTE],
    ["1000m", "1m", 1_000, MINUTE],
    ["1m", "1m", 1, MINUTE],
  ])("window %p, bucket %p → %p buckets of %p ms", (window, bucket, count, bucketMs) => {
    const plan = planSeries(window, bucket, NOW);
    expect(plan).toMatchObject({ count, bucketMs });
    // Aligned on multiples of the bucket; the last holds now; [from, until) spans the buckets.
    expect(plan.from % bucketMs).toBe(0);
    expect(plan.until - bucketMs).toBeLessThanOrEqual(NOW);
    expect(plan.until).toBeGreaterThan(NOW);
    expect(plan.until - plan.from).toBe(count * bucketMs);
  });

  test.each([
    ["31d", "1h", ["window: must be a duration from 1m to 30d, such as '24h' or '7d'"]],
    ["30s", undefined, ["window: must be a duration from 1m to 30d, such as '24h' or '7d'"]],
    ["1.5h", undefined, ["window: must be a duration from 1m to 30d, such as '24h' or '7d'"]],
    ["24h", "30s", ["bucket: must be a whole number of minutes, at least 1m, such as '5m' or '1h'"]],
    ["24h", "90s", ["bucket: must be a whole number of minutes, at least 1m, such as '5m' or '1h'"]],
    ["24h", "five", ["bucket: must be a whole number of minutes, at least 1m, such as '5m' or '1h'"]],
    ["1h", "2h", ["bucket: must not be longer than the window (1h)"]],
    ["24h", "1m", ["bucket: 1d in buckets of 1m is over 1000 buckets; use a bucket of at least 2m"]],
    [
      "40d",
      "1s",
      [
        "window: must be a duration from 1m to 30d, such as '24h' or '7d'",
        "bucket: must be a whole number of minutes, at least 1m, such as '5m' or '1h'",
      ],
    ],
  ])("window %p, bucket %p → 422 %p", (window, bucket, errors) => {
    expect(refused(window, bucket)).toEqual(errors);
  });
});

describe("cells become buckets", () => {
  const plan = planSeries("4m", "1m", NOW);
  const c = (index: number, durationMs: number, succeeded: number, retried = 0, failed = 0): SeriesCell => ({
    index,
    bin: durationBin(durationMs),
    succeeded,
    retried,
    failed,
  });

  test("every bucket is shown, empty ones with zeros and a null p95, oldest first with its start", () => {
    const buckets = buildSeries(plan, [c(1, 10, 2, 1, 1)]);
    expect(buckets.map((b) => b.start)).toEqual(
      [0, 1, 2, 3].map((i) => new Date(plan.from + i * MINUTE).toISOString()),
    );
    expect(buckets.map(({ succeeded, retried, failed, p95_ms }) => [succeeded, retried, failed, p95_ms])).toEqual([
      [0, 0, 0, null],
      [2, 1, 1, 10],
      [0, 0, 0, null],
      [0, 0, 0, null],
    ]);
  });

  test.each([
    // 19 fast and 1 slow: the 95th of 20 (rank 19) is fast; 18 and 2: rank 19 is slow.
    [[c(0, 10, 19), c(0, 900, 1)], 10],
    [[c(0, 900, 2), c(0, 10, 18)], binUpperMs(durationBin(900))],
    // The classes count alike for latency, whatever cell they come in.
    [[c(0, 10, 0, 0, 1), c(0, 20, 0, 1)], 20],
    [[c(0, 5, 1)], 5],
  ])("p95 is the nearest rank over every attempt of the bucket: %p → %p", (cells, p95) => {
    expect(buildSeries(plan, cells)[0]?.p95_ms).toBe(p95);
  });

  test("cells outside the plan's buckets are ignored", () => {
    const buckets = buildSeries(plan, [c(-1, 10, 5), c(4, 10, 5)]);
    expect(buckets.every((b) => b.succeeded === 0)).toBe(true);
  });
});
