// The rules behind GET /v1/stats/deliveries (src/domain/stats/): which class an attempt counts
// in, the duration bins its p95 is read from, the buckets a window asks for, and how the
// roll-up's cells become them. Pure: no store, no clock but the `now` passed in.
import { describe, expect, test } from "bun:test";
import type { DeliveryChange } from "../../src/domain/delivery-rules/outcome.ts";
import { ValidationError } from "../../src/domain/errors.ts";
import { attemptClass, BIN_COLUMNS, binUpperMs, DURATION_BINS, durationBin, tallyAttempts } from "../../src/domain/stats/rollup.ts";
import { buildSeries, planSeries, type SeriesCell, seriesCell } from "../../src/domain/stats/series.ts";

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
    [0, 0, 8],
    [-5, 0, 8],
    [7.9, 0, 8],
    [8, 0, 8],
    [9, 1, 11],
    [11, 1, 11],
    [12, 2, 16],
    [16, 2, 16],
    [17, 3, 22],
    [1_000, 14, 1_024],
    [1_024, 14, 1_024],
    [1_025, 15, 1_448],
    // The longest timeout (5 min) is in the last bin; anything longer shares it.
    [300_000, 31, 370_727],
    [10_000_000, 31, 370_727],
  ])("%p ms → bin %p, reported as %p ms", (ms, bin, upper) => {
    expect(durationBin(ms)).toBe(bin);
    expect(binUpperMs(bin)).toBe(upper);
  });

  test(`${DURATION_BINS} bins, each a counter column b0 … b${DURATION_BINS - 1}`, () => {
    expect(BIN_COLUMNS).toHaveLength(DURATION_BINS);
    expect(BIN_COLUMNS[0]).toBe("b0");
    expect(BIN_COLUMNS.at(-1)).toBe(`b${DURATION_BINS - 1}`);
  });

  test("every duration is at most its bin's upper bound, over it by at most 8 ms or 41.5 % (√2)", () => {
    for (let ms = 0; ms <= 370_727; ms += ms < 5_000 ? 1 : 97) {
      const upper = binUpperMs(durationBin(ms));
      expect(upper).toBeGreaterThanOrEqual(ms);
      expect(upper).toBeLessThanOrEqual(Math.max(8, ms * Math.SQRT2));
    }
  });

  test("bins grow with durations and each one's bound is one below the next one's first duration", () => {
    for (let bin = 0; bin < DURATION_BINS - 1; bin++) expect(durationBin(binUpperMs(bin) + 1)).toBe(bin + 1);
  });
});

describe("tallying a batch of attempts", () => {
  test("one row per webhook and minute, counts per class and per duration bin, sorted by that key", () => {
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
    const nonZero = (bins: number[]) => Object.fromEntries(bins.flatMap((n, j) => (n > 0 ? [[j, n]] : [])));
    expect(rows.map((r) => [r.webhookId, r.minute - minute, r.succeeded, r.retried, r.failed, nonZero(r.bins)])).toEqual([
      ["wh_a", 0, 1, 1, 1, { [durationBin(10)]: 2, [durationBin(500)]: 1 }],
      ["wh_a", MINUTE, 0, 0, 1, { [durationBin(10)]: 1 }],
      ["wh_b", 0, 1, 0, 0, { [durationBin(10)]: 1 }],
    ]);
    for (const r of rows) expect(r.bins).toHaveLength(DURATION_BINS);
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
  /** A cell of one bucket: its counts per class, and the durations (ms) of its attempts. */
  const c = (index: number, durations: number[], counts: Partial<Record<"succeeded" | "retried" | "failed", number>> = {}) => {
    const bins = new Array<number>(DURATION_BINS).fill(0);
    for (const ms of durations) bins[durationBin(ms)] = (bins[durationBin(ms)] ?? 0) + 1;
    const cell: SeriesCell = { index, bins, succeeded: counts.succeeded ?? durations.length, retried: 0, failed: 0 };
    return { ...cell, ...counts };
  };
  const times = (n: number, ms: number) => new Array<number>(n).fill(ms);

  test("every bucket is shown, empty ones with zeros and a null p95, oldest first with its start", () => {
    const buckets = buildSeries(plan, [c(1, [10, 10, 10, 10], { succeeded: 2, retried: 1, failed: 1 })]);
    expect(buckets.map((b) => b.start)).toEqual(
      [0, 1, 2, 3].map((i) => new Date(plan.from + i * MINUTE).toISOString()),
    );
    expect(buckets.map(({ succeeded, retried, failed, p95_ms }) => [succeeded, retried, failed, p95_ms])).toEqual([
      [0, 0, 0, null],
      [2, 1, 1, 11],
      [0, 0, 0, null],
      [0, 0, 0, null],
    ]);
  });

  test.each([
    // 19 fast and 1 slow: the 95th of 20 (rank 19) is fast; 18 and 2: rank 19 is slow.
    [[c(0, times(19, 10)), c(0, [900])], 11],
    [[c(0, times(2, 900)), c(0, times(18, 10))], binUpperMs(durationBin(900))],
    // The classes count alike for latency, whatever cell they come in.
    [[c(0, [10], { succeeded: 0, failed: 1 }), c(0, [20], { succeeded: 0, retried: 1 })], 22],
    [[c(0, [5])], 8],
  ])("p95 is the nearest rank over every attempt of the bucket, summed over its cells: %p → %p", (cells, p95) => {
    expect(buildSeries(plan, cells)[0]?.p95_ms).toBe(p95);
  });

  test("p95_ms is never under the exact nearest rank, and over it by at most 8 ms or 41.5 % (√2)", () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let round = 0; round < 300; round++) {
      // Log-uniform from 1 ms to the longest timeout (5 min), 1 to 400 attempts.
      const durations = Array.from({ length: 1 + Math.floor(random() * 400) }, () => Math.floor(300_000 ** random()));
      const exact = [...durations].sort((x, y) => x - y)[Math.ceil(0.95 * durations.length) - 1] as number;
      // Split over a few cells (minutes, webhooks), as the store gives them.
      const cells = [0, 1, 2].map((k) => c(0, durations.filter((_, i) => i % 3 === k)));
      const reported = buildSeries(plan, cells)[0]?.p95_ms as number;
      expect(reported).toBeGreaterThanOrEqual(exact);
      expect(reported).toBeLessThanOrEqual(Math.max(8, exact * Math.SQRT2));
    }
  });

  test("cells outside the plan's buckets are ignored", () => {
    const buckets = buildSeries(plan, [c(-1, times(5, 10)), c(4, times(5, 10))]);
    expect(buckets.every((b) => b.succeeded === 0)).toBe(true);
  });
});

describe("a row of the series query becomes a cell", () => {
  test("its sums by the roll-up's column names, numeric strings (PostgreSQL's bigint) as numbers", () => {
    const row: Record<string, unknown> = { index: 3, succeeded: "5", retried: 1, failed: 0 };
    BIN_COLUMNS.forEach((col, j) => {
      row[col] = j === 4 ? "6" : 0;
    });
    const bins = new Array<number>(DURATION_BINS).fill(0);
    bins[4] = 6;
    expect(seriesCell(row)).toEqual({ index: 3, succeeded: 5, retried: 1, failed: 0, bins });
  });
});
