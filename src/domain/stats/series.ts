// The time series of GET /v1/stats/deliveries (API.md §12): which buckets a request asks for, and
// how the roll-up's cells (stats/rollup.ts) become them. Pure and table-tested; the store only
// sums the roll-up's columns per bucket.
import { formatDuration, parseDuration } from "../../lib/duration.ts";
import { toIso } from "../clock.ts";
import { ValidationError } from "../errors.ts";
import type { SeriesCell } from "../store-records.ts";
import { BIN_COLUMNS, binUpperMs, MINUTE_MS } from "./rollup.ts";

export const MAX_WINDOW_MS = 30 * 86_400_000;
export const MAX_BUCKETS = 1_000;
const DEFAULT_WINDOW = "24h";
/** Without ?bucket=, about this many buckets: 24h gives 5m. */
const DEFAULT_BUCKETS = 288;

/** The buckets asked for: `count` of `bucketMs` each, from `from`; the last one holds `now`. */
export interface SeriesPlan {
  from: number;
  until: number;
  bucketMs: number;
  count: number;
}

/**
 * Reads ?window= and ?bucket= (the config's duration syntax: "24h", "5m"). Buckets are whole
 * minutes, as the roll-up is, and aligned on multiples of their length since the epoch, so a
 * chart polled every minute shows the same buckets with fresher counts. Every problem is
 * reported, each naming its parameter.
 */
export function planSeries(windowText: string | undefined, bucketText: string | undefined, now: number): SeriesPlan {
  const errors: string[] = [];
  const windowGiven = windowText === undefined || windowText === "" ? DEFAULT_WINDOW : windowText;
  const windowMs = parseDuration(windowGiven);
  const windowOk = windowMs !== undefined && windowMs >= MINUTE_MS && windowMs <= MAX_WINDOW_MS;
  if (!windowOk) errors.push("window: must be a duration from 1m to 30d, such as '24h' or '7d'");
  let bucketMs: number | undefined;
  if (bucketText === undefined || bucketText === "") {
    if (windowOk) bucketMs = Math.max(1, Math.ceil(windowMs / DEFAULT_BUCKETS / MINUTE_MS)) * MINUTE_MS;
  } else {
    bucketMs = parseDuration(bucketText);
    if (bucketMs === undefined || bucketMs < MINUTE_MS || bucketMs % MINUTE_MS !== 0) {
      errors.push("bucket: must be a whole number of minutes, at least 1m, such as '5m' or '1h'");
      bucketMs = undefined;
    }
  }
  if (windowOk && bucketMs !== undefined) {
    if (bucketMs > windowMs) errors.push(`bucket: must not be longer than the window (${formatDuration(windowMs)})`);
    else if (Math.ceil(windowMs / bucketMs) > MAX_BUCKETS) {
      const least = Math.ceil(windowMs / MAX_BUCKETS / MINUTE_MS) * MINUTE_MS;
      errors.push(
        `bucket: ${formatDuration(windowMs)} in buckets of ${formatDuration(bucketMs)} is over ${MAX_BUCKETS} buckets; use a bucket of at least ${formatDuration(least)}`,
      );
    }
  }
  if (errors.length > 0 || windowMs === undefined || bucketMs === undefined) throw new ValidationError(errors);
  const count = Math.ceil(windowMs / bucketMs);
  const last = Math.floor(now / bucketMs) * bucketMs;
  const from = last - (count - 1) * bucketMs;
  return { from, until: last + bucketMs, bucketMs, count };
}

export type { SeriesCell } from "../store-records.ts";

/**
 * A cell from a row of the stores' series query, which names its sums as the roll-up's columns
 * (index, succeeded, retried, failed, b0 … b31). Numbers or numeric strings (PostgreSQL's bigint).
 */
export function seriesCell(row: Record<string, unknown>): SeriesCell {
  return {
    index: Number(row.index),
    succeeded: Number(row.succeeded),
    retried: Number(row.retried),
    failed: Number(row.failed),
    bins: BIN_COLUMNS.map((c) => Number(row[c] ?? 0)),
  };
}

export interface SeriesBucket {
  start: string;
  succeeded: number;
  failed: number;
  retried: number;
  /** The bucket's attempts' 95th percentile duration (nearest rank, as its bin's upper bound); null without attempts. */
  p95_ms: number | null;
}

/** Every bucket of the plan, empty ones included (a chart needs its zeros), oldest first. */
export function buildSeries(plan: SeriesPlan, cells: readonly SeriesCell[]): SeriesBucket[] {
  const perBucket: SeriesCell[][] = Array.from({ length: plan.count }, () => []);
  for (const c of cells) if (c.index >= 0 && c.index < plan.count) perBucket[c.index]?.push(c);
  return perBucket.map((mine, i) => {
    let succeeded = 0;
    let failed = 0;
    let retried = 0;
    const bins: number[] = [];
    for (const c of mine) {
      succeeded += c.succeeded;
      failed += c.failed;
      retried += c.retried;
      c.bins.forEach((n, j) => {
        bins[j] = (bins[j] ?? 0) + n;
      });
    }
    return { start: toIso(plan.from + i * plan.bucketMs), succeeded, failed, retried, p95_ms: p95(bins) };
  });
}

const p95 = (bins: readonly (number | undefined)[]): number | null => binPercentile(bins, 0.95);

/**
 * The nearest rank of quantile `q` over summed bins (the first bin where the count reaches
 * q × total), as that bin's upper bound; null without attempts.
 */
export function binPercentile(bins: readonly (number | undefined)[], q: number): number | null {
  const total = bins.reduce<number>((n, b) => n + (b ?? 0), 0);
  if (total === 0) return null;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (let j = 0; j < bins.length; j++) {
    seen += bins[j] ?? 0;
    if (seen >= rank) return binUpperMs(j);
  }
  return null;
}

/**
 * One webhook's health since `since` from its roll-up cells (the stores ask deliverySeries'
 * query for one bucket from the start of `since`'s minute): counts and percentiles as the
 * series gives them, so a webhook with a million attempts reads ~1,440 rows a day, not them all.
 */
export function healthOfCells(cells: readonly SeriesCell[]): { attempts: number; succeeded: number; p50Ms: number | null; p95Ms: number | null } {
  let attempts = 0;
  let succeeded = 0;
  const bins: number[] = [];
  for (const c of cells) {
    attempts += c.succeeded + c.retried + c.failed;
    succeeded += c.succeeded;
    c.bins.forEach((n, j) => {
      bins[j] = (bins[j] ?? 0) + n;
    });
  }
  return { attempts, succeeded, p50Ms: binPercentile(bins, 0.5), p95Ms: binPercentile(bins, 0.95) };
}

/** The roll-up's range for "since `since`": from the start of its minute, one bucket to the end of time. */
export function healthRange(since: number): { from: number; until: number; bucketMs: number } {
  const from = Math.floor(since / MINUTE_MS) * MINUTE_MS;
  return { from, until: Number.MAX_SAFE_INTEGER, bucketMs: Number.MAX_SAFE_INTEGER };
}
