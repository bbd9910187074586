// What an attempt's outcome means and when the next one runs. Pure: no clock, no randomness of
// its own, no I/O — the dispatcher passes `now` and `random`, and the tables in
// test/delivery/retry-policy.test.ts pin every rule (API.md §7, §10; DESIGN.md "Delivery rules").
import type { Config } from "../config/types.ts";

/** Retry-After never postpones an attempt by more than this (API.md §10). */
export const MAX_RETRY_AFTER_MS = 24 * 60 * 60 * 1000;

export type Outcome = { kind: "success" } | { kind: "retryable"; retryAfterMs?: number } | { kind: "gone" };

export interface AttemptFacts {
  /** null: no HTTP status at all (timeout, connection refused, DNS, TLS). */
  statusCode: number | null;
  retryAfter: string | null;
  /**
   * The sender's error, if any. A 2xx that comes with an error (the body read timed out) is not
   * a success: the whole attempt must finish within the timeout, and at-least-once prefers a
   * duplicate over a delivery nobody can prove completed.
   */
  error?: string | null;
}

/**
 * 2xx → success; 410 → gone (the receiver's explicit, permanent refusal: the webhook is
 * disabled at once); everything else → retryable, including redirects (never followed), null
 * (no response) and the other 4xx. Other 4xx retry by default on purpose: a receiver's 400/401/
 * 404 is most often a deploy-time bug (a route renamed, a verification key not yet rolled out)
 * that its owner fixes within hours, and dropping the event then would lose data that
 * at-least-once delivery promised to keep trying. A receiver that wants no more has 410.
 */
export function classify(result: AttemptFacts, now: number): Outcome {
  const code = result.statusCode;
  if (code !== null && code >= 200 && code <= 299 && !result.error) return { kind: "success" };
  if (code === 410) return { kind: "gone" };
  // Only 429 and 503 define Retry-After as "come back later"; on other codes it is noise.
  if (code === 429 || code === 503) {
    const retryAfterMs = parseRetryAfter(result.retryAfter, now);
    if (retryAfterMs !== undefined) return { kind: "retryable", retryAfterMs };
  }
  return { kind: "retryable" };
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const MON = MONTHS.join("|");
const T = "(\\d{2}):(\\d{2}):(\\d{2})";
// RFC 9110 §5.6.7: senders use IMF-fixdate; recipients must also accept RFC 850 and asctime.
// Date.parse is not used: it accepts "2" or "1.5" as dates and reads asctime in local time.
const IMF_FIXDATE = new RegExp(`^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\\d{2}) (${MON}) (\\d{4}) ${T} GMT$`);
const RFC_850 = new RegExp(
  `^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\\d{2})-(${MON})-(\\d{2}) ${T} GMT$`,
);
const ASCTIME = new RegExp(`^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (${MON}) ([ \\d]\\d) ${T} (\\d{4})$`);

function utc(y: number, mon: string, d: number, h: number, mi: number, s: number): number | undefined {
  const m = MONTHS.indexOf(mon);
  if (h > 23 || mi > 59 || s > 60) return undefined;
  const ms = Date.UTC(y, m, d, h, mi, Math.min(s, 59));
  // Date.UTC rolls 31 Feb over into March; a date that does not round-trip is garbage.
  return new Date(ms).getUTCDate() === d ? ms : undefined;
}

function parseHttpDate(v: string, now: number): number | undefined {
  let m = IMF_FIXDATE.exec(v);
  if (m) return utc(Number(m[3]), m[2] ?? "", Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
  m = RFC_850.exec(v);
  if (m) {
    // Two-digit years: one more than 50 years ahead is in the past century (RFC 9110 §5.6.7).
    const thisYear = new Date(now).getUTCFullYear();
    let y = 2000 + Number(m[3]);
    if (y > thisYear + 50) y -= 100;
    return utc(y, m[2] ?? "", Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
  }
  m = ASCTIME.exec(v);
  if (m) return utc(Number(m[6]), m[1] ?? "", Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]));
  return undefined;
}

/**
 * Retry-After as milliseconds from `now`: delta-seconds or an HTTP-date. Garbage → undefined
 * (fall back to the schedule); a date in the past → 0; capped at 24 h so a receiver cannot park
 * a delivery for ever.
 */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const v = value.trim();
  let ms: number | undefined;
  if (/^\d+$/.test(v)) ms = Number(v) * 1000;
  else {
    const at = parseHttpDate(v, now);
    if (at !== undefined) ms = Math.max(0, at - now);
  }
  // A delta of hundreds of digits is Infinity, which the cap also handles.
  return ms === undefined ? undefined : Math.min(ms, MAX_RETRY_AFTER_MS);
}

export interface RetryPolicy {
  /** Delays after the 1st, 2nd, … failed attempt. */
  schedule: number[];
  /** With `for`: one attempt every `every` ms until `for` ms after the first attempt. */
  every?: number;
  for?: number;
  /** 0–1: each delay is scaled by a random factor in [1 - jitter, 1 + jitter]. */
  jitter: number;
}

export function policyFromConfig(delivery: Config["delivery"]): RetryPolicy {
  const policy: RetryPolicy = { schedule: [...delivery.retry_schedule], jitter: delivery.jitter };
  // Both or neither: one of the two alone is meaningless, and config validation reports it.
  if (delivery.retry_every !== undefined && delivery.retry_for !== undefined) {
    policy.every = delivery.retry_every;
    policy.for = delivery.retry_for;
  }
  return policy;
}

/**
 * Delay in ms before the next attempt, or null when the delivery has run out of attempts and
 * becomes `failed`.
 * - `failedSoFar`: failed attempts since the schedule (re)started, including the one that just
 *   failed (≥ 1). A recover restarts it; attempt numbers shown to users do not restart.
 * - `elapsedMs`: from the schedule's first attempt to the attempt that just failed.
 * - `retryAfterMs`: from classify(); the next attempt is at the later of the two. It is honoured
 *   even past the end of an every/for window: the receiver asked for that time explicitly, and
 *   the window check on the following failure ends the delivery anyway.
 */
export function nextRetryDelay(
  policy: RetryPolicy,
  failedSoFar: number,
  elapsedMs: number,
  random: () => number,
  retryAfterMs?: number,
): number | null {
  const windowed = policy.every !== undefined && policy.for !== undefined;
  let delay: number;
  let latest = Number.POSITIVE_INFINITY;
  if (windowed) {
    const every = policy.every ?? 0;
    const window = policy.for ?? 0;
    if (elapsedMs + every > window) return null;
    delay = every;
    // Jitter must not push the last attempt of the window past its end.
    latest = window - elapsedMs;
  } else {
    const scheduled = policy.schedule[failedSoFar - 1];
    if (scheduled === undefined) return null;
    delay = scheduled;
  }
  // Jitter spreads retries of many deliveries that failed together (a receiver outage) so they
  // do not all hit the receiver again in the same second.
  delay *= 1 + policy.jitter * (2 * random() - 1);
  delay = Math.min(Math.max(0, delay), latest);
  if (retryAfterMs !== undefined) delay = Math.max(delay, Math.min(retryAfterMs, MAX_RETRY_AFTER_MS));
  return Math.round(delay);
}
