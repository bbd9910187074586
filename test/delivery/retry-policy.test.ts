import { describe, expect, test } from "bun:test";
import { DEFAULTS } from "../../src/config/defaults.ts";
import { parseDuration } from "../../src/lib/duration.ts";
import {
  classify,
  MAX_RETRY_AFTER_MS,
  nextRetryDelay,
  type Outcome,
  parseRetryAfter,
  policyFromConfig,
  type RetryPolicy,
} from "../../src/delivery/retry-policy.ts";

const NOW = Date.UTC(2024, 0, 15, 12, 0, 0);
const SEC = 1000;
const HOUR = 3600 * SEC;

function ms(d: string): number {
  const v = parseDuration(d);
  if (v === undefined) throw new Error(`bad duration ${d}`);
  return v;
}

/** Every attempt fails; returns the attempt times as offsets from t0, driven by a fake clock. */
function simulate(policy: RetryPolicy, random: () => number = () => 0.5): number[] {
  const clock = { t: 1_000_000 };
  const t0 = clock.t;
  const times = [0];
  for (let failed = 1; failed <= 1000; failed++) {
    const delay = nextRetryDelay(policy, failed, clock.t - t0, random);
    if (delay === null) return times;
    clock.t += delay;
    times.push(clock.t - t0);
  }
  throw new Error("the policy never ended");
}

describe("classify", () => {
  test.each([
    [200, "success"],
    [204, "success"],
    [299, "success"],
    [301, "retryable"],
    [302, "retryable"],
    [400, "retryable"],
    [404, "retryable"],
    [408, "retryable"],
    [410, "gone"],
    [429, "retryable"],
    [500, "retryable"],
    [503, "retryable"],
    [null, "retryable"],
  ] as const)("%p → %s", (statusCode, kind) => {
    expect(classify({ statusCode, retryAfter: null }, NOW).kind).toBe(kind);
  });

  test("a 2xx whose body read failed is retryable", () => {
    const r = classify({ statusCode: 200, retryAfter: null, error: "timeout after 500ms while reading the response" }, NOW);
    expect(r).toEqual({ kind: "retryable" });
  });

  test.each([
    ["429 with delta-seconds", 429, "120", { kind: "retryable", retryAfterMs: 120 * SEC }],
    ["503 with delta-seconds", 503, "7", { kind: "retryable", retryAfterMs: 7 * SEC }],
    ["429 with an HTTP-date", 429, new Date(NOW + 90 * SEC).toUTCString(), { kind: "retryable", retryAfterMs: 90 * SEC }],
    ["429 with garbage", 429, "soon", { kind: "retryable" }],
    ["429 with a huge value, capped", 429, "99999999999", { kind: "retryable", retryAfterMs: MAX_RETRY_AFTER_MS }],
    ["Retry-After ignored on 500", 500, "120", { kind: "retryable" }],
    ["Retry-After ignored on 408", 408, "120", { kind: "retryable" }],
    ["Retry-After ignored on 200", 200, "120", { kind: "success" }],
  ] as [string, number, string, Outcome][])("%s", (_name, statusCode, retryAfter, expected) => {
    expect(classify({ statusCode, retryAfter }, NOW)).toEqual(expected);
  });
});

describe("parseRetryAfter", () => {
  test.each([
    ["null", null, undefined],
    ["zero", "0", 0],
    ["delta-seconds", "30", 30 * SEC],
    ["delta with spaces around", " 30 ", 30 * SEC],
    ["IMF-fixdate", "Mon, 15 Jan 2024 12:01:00 GMT", 60 * SEC],
    ["RFC 850 date", "Monday, 15-Jan-24 12:02:00 GMT", 120 * SEC],
    ["asctime date", "Mon Jan 15 12:00:30 2024", 30 * SEC],
    ["asctime, one-digit day", "Tue Jan  2 00:00:00 2024", 0],
    ["a past date", "Sun, 06 Nov 1994 08:49:37 GMT", 0],
    ["a date beyond 24 h", "Fri, 15 Mar 2024 12:00:00 GMT", MAX_RETRY_AFTER_MS],
    ["huge delta", "1".repeat(400), MAX_RETRY_AFTER_MS],
    ["exactly 24 h", "86400", MAX_RETRY_AFTER_MS],
    ["negative", "-5", undefined],
    ["fraction", "1.5", undefined],
    ["words", "soon", undefined],
    ["empty", "", undefined],
    ["ISO date", "2024-01-15T12:01:00Z", undefined],
    ["impossible date", "Wed, 31 Feb 2024 07:28:00 GMT", undefined],
    ["hour 25", "Mon, 15 Jan 2024 25:00:00 GMT", undefined],
  ] as const)("%s", (_name, value, expected) => {
    expect(parseRetryAfter(value, NOW)).toBe(expected);
  });
});

describe("policyFromConfig", () => {
  test("the schedule by default", () => {
    expect(policyFromConfig(DEFAULTS.delivery)).toEqual({
      schedule: DEFAULTS.delivery.retry_schedule,
      jitter: 0.1,
    });
  });
  test("every/for replace the schedule when both are set", () => {
    const p = policyFromConfig({ ...DEFAULTS.delivery, retry_every: HOUR, retry_for: 48 * HOUR });
    expect(p.every).toBe(HOUR);
    expect(p.for).toBe(48 * HOUR);
    expect(simulate(p)).toHaveLength(49);
  });
  test("every alone does not", () => {
    const p = policyFromConfig({ ...DEFAULTS.delivery, retry_every: HOUR });
    expect(p.every).toBeUndefined();
  });
});

describe("nextRetryDelay", () => {
  test("1s, 5s, 30s without jitter: attempts at t0, +1s, +6s, +36s, then failed", () => {
    const policy = { schedule: ["1s", "5s", "30s"].map(ms), jitter: 0 };
    expect(simulate(policy)).toEqual([0, 1 * SEC, 6 * SEC, 36 * SEC]);
    expect(nextRetryDelay(policy, 4, 36 * SEC, Math.random)).toBeNull();
  });

  test("every 1h for 48h: 49 attempts at t0 + k·1h, then failed", () => {
    const policy = { schedule: [], every: ms("1h"), for: ms("48h"), jitter: 0 };
    const times = simulate(policy);
    expect(times).toEqual(Array.from({ length: 49 }, (_, k) => k * HOUR));
  });

  test("the default schedule gives 8 attempts in all", () => {
    const policy = policyFromConfig(DEFAULTS.delivery);
    const times = simulate(policy, () => 0.5);
    expect(times).toHaveLength(8);
    const raw = ["5s", "5m", "30m", "2h", "5h", "10h", "10h"].map(ms);
    expect(times.slice(1).map((t, i) => t - (times[i] ?? 0))).toEqual(raw);
  });

  test.each([
    ["random() = 0 → lower bound", 0, 9_000],
    ["random() ≈ 1 → upper bound", 0.999999999, 11_000],
    ["random() = 0.5 → unchanged", 0.5, 10_000],
  ] as const)("jitter 0.1, %s", (_name, r, expected) => {
    const d = nextRetryDelay({ schedule: [10_000], jitter: 0.1 }, 1, 0, () => r);
    expect(d).toBe(expected);
  });

  test("jitter 1 never goes below 0 and always returns an integer", () => {
    expect(nextRetryDelay({ schedule: [1000], jitter: 1 }, 1, 0, () => 0)).toBe(0);
    const d = nextRetryDelay({ schedule: [1001], jitter: 0.37 }, 1, 0, () => 0.123);
    expect(Number.isInteger(d)).toBe(true);
  });

  test("every/for: jitter never pushes the last attempt past the window's end", () => {
    const policy = { schedule: [], every: HOUR, for: 48 * HOUR, jitter: 0.5 };
    expect(nextRetryDelay(policy, 48, 47 * HOUR, () => 1)).toBe(HOUR);
    expect(nextRetryDelay(policy, 48, 47 * HOUR, () => 0)).toBe(HOUR / 2);
    for (const t of simulate(policy, () => 0.999)) expect(t).toBeLessThanOrEqual(48 * HOUR);
  });

  test("Retry-After wins when later, the schedule when Retry-After is sooner", () => {
    const policy = { schedule: [5 * SEC], jitter: 0 };
    expect(nextRetryDelay(policy, 1, 0, Math.random, 60 * SEC)).toBe(60 * SEC);
    expect(nextRetryDelay(policy, 1, 0, Math.random, 1 * SEC)).toBe(5 * SEC);
    expect(nextRetryDelay(policy, 1, 0, Math.random, 10 * 24 * HOUR)).toBe(MAX_RETRY_AFTER_MS);
  });

  test("Retry-After does not bring back an exhausted schedule", () => {
    expect(nextRetryDelay({ schedule: [SEC], jitter: 0 }, 2, SEC, Math.random, 60 * SEC)).toBeNull();
  });

  test("a schedule longer than 24 h per step is not cut by the Retry-After cap", () => {
    expect(nextRetryDelay({ schedule: [48 * HOUR], jitter: 0 }, 1, 0, Math.random, 60 * SEC)).toBe(
      48 * HOUR,
    );
  });
});
