// The delivery stats roll-up (GET /v1/stats/deliveries, API.md §12): what one attempt adds to
// the per-minute counters a store keeps beside the attempts, so a chart over a day of a million
// deliveries reads a few thousand small rows instead of every attempt. Pure: both stores call
// tallyAttempts with the plans decideOutcome gave them and upsert its rows in the transaction
// that writes the outcomes, so the two stores count alike by construction.
import type { DeliveryChange } from "../delivery-rules/outcome.ts";

/**
 * Every attempt is exactly one of these, by what its outcome did to its delivery:
 * - succeeded: a 2xx (an automatic attempt or a manual retry);
 * - retried: not a 2xx, and the delivery was scheduled for another attempt;
 * - failed: not a 2xx, and no further attempt was scheduled by it — retries exhausted, 410, the
 *   webhook disabled meanwhile, or a manual retry that failed (it leaves the delivery as it was).
 * So succeeded + retried + failed = attempts, and failed counts what a receiver's owner must act on.
 */
export type AttemptClass = "succeeded" | "retried" | "failed";

export function attemptClass(change: DeliveryChange): AttemptClass {
  if (change.kind === "attempted") return "failed";
  if (change.status === "succeeded") return "succeeded";
  return change.status === "pending" ? "retried" : "failed";
}

export const MINUTE_MS = 60_000;

// Durations go into a fixed set of log-scale bins, one counter column each, so a roll-up row is
// one webhook's minute whatever its attempts (at most 1,440 rows per webhook and day) and a
// series is a plain SUM per column on either store. Bin 0 holds 0–8 ms; bin j ≥ 1 ends at
// floor(8 × 2^(j/2)) ms, so each is at most √2 as wide at its top as at its bottom; the last ends
// at about 6 min 10 s, past the longest timeout (5 min). Finer bins cost every series read a
// column per bin: 32 keeps a day of every tenant well under 50 ms at a million attempts.
export const DURATION_BINS = 32;
const FIRST_BIN_MS = 8;
const BIN_UPPER_MS: readonly number[] = Array.from({ length: DURATION_BINS }, (_, j) =>
  Math.floor(FIRST_BIN_MS * Math.SQRT2 ** j),
);
/** The roll-up's counter columns, b0 … b31: attempts whose duration is in that bin. */
export const BIN_COLUMNS: readonly string[] = Array.from({ length: DURATION_BINS }, (_, j) => `b${j}`);

/** The bin of a duration (ms): rounded down to an integer, negative as 0, past the last bin in it. */
export function durationBin(ms: number): number {
  const v = Math.max(0, Math.floor(ms));
  let lo = 0;
  let hi = DURATION_BINS - 1;
  // The first bin whose upper bound reaches v (binary search over 32 bounds).
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((BIN_UPPER_MS[mid] as number) >= v) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * The largest duration in the bin: a percentile read from bins is reported as its bin's upper
 * bound, so "95 % of the attempts took at most p95_ms" stays true, and p95_ms is over the exact
 * nearest rank by at most 8 ms or 41.5 % (√2), whichever is larger (up to the last bin's bound).
 */
export function binUpperMs(bin: number): number {
  return BIN_UPPER_MS[Math.min(DURATION_BINS - 1, Math.max(0, bin))] as number;
}

/** One roll-up row: a webhook's attempts started in one minute, per class and per duration bin. */
export interface StatsRow {
  tenantId: string;
  webhookId: string;
  /** The minute's start (epoch ms, a multiple of 60 000). */
  minute: number;
  succeeded: number;
  retried: number;
  failed: number;
  /** DURATION_BINS counts: bins[j] attempts whose duration is in bin j. */
  bins: number[];
}

export interface TalliedAttempt {
  tenantId: string;
  webhookId: string;
  startedAt: number;
  durationMs: number;
  change: DeliveryChange;
}

/**
 * The rows to add for a batch of recorded attempts, one per (webhook, minute), sorted by that
 * key: an upsert of several replicas' batches then locks rows in one order (no deadlock cycle),
 * and a statement never names one row twice.
 */
export function tallyAttempts(attempts: readonly TalliedAttempt[]): StatsRow[] {
  const rows = new Map<string, StatsRow>();
  for (const a of attempts) {
    const minute = Math.floor(a.startedAt / MINUTE_MS) * MINUTE_MS;
    const key = `${a.webhookId}\u0000${minute}`;
    let row = rows.get(key);
    if (row === undefined) {
      const bins = new Array<number>(DURATION_BINS).fill(0);
      row = { tenantId: a.tenantId, webhookId: a.webhookId, minute, succeeded: 0, retried: 0, failed: 0, bins };
      rows.set(key, row);
    }
    row[attemptClass(a.change)] += 1;
    const bin = durationBin(a.durationMs);
    row.bins[bin] = (row.bins[bin] ?? 0) + 1;
  }
  return [...rows.values()].sort(
    (x, y) => (x.webhookId < y.webhookId ? -1 : x.webhookId > y.webhookId ? 1 : x.minute - y.minute),
  );
}
