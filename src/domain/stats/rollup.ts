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

// Durations go into log-scale bins so a bucket's p95 comes from counts: exact below 32 ms, then
// 16 bins per power of two (each at most 1/16 = 6.25 % wide), the layout HdrHistogram uses. A
// minute of one webhook's attempts, whatever their number, is a few dozen rows.
const EXACT = 32;
const SUB_BINS = 16;
const SUB_BITS = 4;
/** Durations above this (about 24 days) share the last bin. */
const MAX_DURATION_MS = 2 ** 31 - 1;

/** The bin of a duration (ms): rounded down to an integer, negative as 0. */
export function durationBin(ms: number): number {
  const v = Math.min(MAX_DURATION_MS, Math.max(0, Math.floor(ms)));
  if (v < EXACT) return v;
  const exponent = 31 - Math.clz32(v); // floor(log2 v), 5 or more here
  const sub = (v >>> (exponent - SUB_BITS)) - SUB_BINS;
  return EXACT + (exponent - 5) * SUB_BINS + sub;
}

/**
 * The largest duration in the bin: a percentile read from bins is reported as its bin's upper
 * bound, so "95 % of the attempts took at most p95_ms" stays true (over by less than 6.25 %).
 */
export function binUpperMs(bin: number): number {
  if (bin < EXACT) return bin;
  const exponent = 5 + Math.floor((bin - EXACT) / SUB_BINS);
  const sub = (bin - EXACT) % SUB_BINS;
  return Math.min(MAX_DURATION_MS, (SUB_BINS + sub + 1) * 2 ** (exponent - SUB_BITS) - 1);
}

/** One roll-up row: a webhook's attempts started in one minute whose durations fall in one bin. */
export interface StatsRow {
  tenantId: string;
  webhookId: string;
  /** The minute's start (epoch ms, a multiple of 60 000). */
  minute: number;
  bin: number;
  succeeded: number;
  retried: number;
  failed: number;
}

export interface TalliedAttempt {
  tenantId: string;
  webhookId: string;
  startedAt: number;
  durationMs: number;
  change: DeliveryChange;
}

/**
 * The rows to add for a batch of recorded attempts, one per (webhook, minute, bin), sorted by
 * that key: an upsert of several replicas' batches then locks rows in one order (no deadlock
 * cycle), and a statement never names one row twice.
 */
export function tallyAttempts(attempts: readonly TalliedAttempt[]): StatsRow[] {
  const rows = new Map<string, StatsRow>();
  for (const a of attempts) {
    const minute = Math.floor(a.startedAt / MINUTE_MS) * MINUTE_MS;
    const bin = durationBin(a.durationMs);
    const key = `${a.webhookId}\u0000${minute}\u0000${bin}`;
    let row = rows.get(key);
    if (row === undefined) {
      row = { tenantId: a.tenantId, webhookId: a.webhookId, minute, bin, succeeded: 0, retried: 0, failed: 0 };
      rows.set(key, row);
    }
    row[attemptClass(a.change)] += 1;
  }
  return [...rows.values()].sort(
    (x, y) => (x.webhookId < y.webhookId ? -1 : x.webhookId > y.webhookId ? 1 : x.minute - y.minute || x.bin - y.bin),
  );
}
