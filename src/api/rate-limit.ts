import type { Clock } from "../domain/clock.ts";

export interface RateDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the bucket is full again (the RateLimit-Reset header). */
  resetSeconds: number;
  /** Seconds until one request is allowed again, for Retry-After on a 429. */
  retryAfterSeconds: number;
}

/**
 * What the auth plugin asks before every /v1 call. The process's own buckets answer at once; the
 * buckets shared through PostgreSQL (rate-limit-shared.ts) answer at once while this replica
 * holds tokens of the key, and after one statement when it must take more.
 */
export interface RequestLimiter {
  readonly enabled: boolean;
  take(key: string): RateDecision | Promise<RateDecision>;
  /** Gives back what this process holds of shared buckets; before the store closes. */
  close(): Promise<void>;
}

/**
 * The answer for a bucket left holding `tokens` (after the take, when `allowed`): the headers
 * count whole tokens, the reset is when it is full again, Retry-After when one token is back.
 */
export function rateDecision(allowed: boolean, tokens: number, perMinute: number, perMs: number): RateDecision {
  const missing = perMinute - tokens;
  return {
    allowed,
    limit: perMinute,
    remaining: Math.floor(tokens),
    resetSeconds: Math.ceil(missing / perMs / 1000),
    retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil((1 - tokens) / perMs / 1000)),
  };
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

const MAX_BUCKETS = 100_000;

/**
 * A token bucket per credential in this process: burst = per_minute, refilled at per_minute per
 * minute. It is the whole limit on SQLite (one process); on PostgreSQL it is what each replica
 * falls back to while the shared buckets cannot be reached (rate-limit-shared.ts).
 */
export class RateLimiter implements RequestLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly perMs: number;

  constructor(
    private readonly perMinute: number,
    private readonly clock: Clock,
  ) {
    this.perMs = perMinute / 60_000;
  }

  get enabled(): boolean {
    return this.perMinute > 0;
  }

  take(key: string): RateDecision {
    const now = this.clock.now();
    const cap = this.perMinute;
    let b = this.buckets.get(key);
    if (b) {
      b.tokens = Math.min(cap, b.tokens + (now - b.updatedAt) * this.perMs);
      b.updatedAt = now;
    } else {
      if (this.buckets.size >= MAX_BUCKETS) this.evictFull(now);
      b = { tokens: cap, updatedAt: now };
      this.buckets.set(key, b);
    }
    const allowed = b.tokens >= 1;
    if (allowed) b.tokens -= 1;
    return rateDecision(allowed, b.tokens, cap, this.perMs);
  }

  async close(): Promise<void> {}

  /** A full bucket carries no state worth keeping; dropping it bounds memory under many callers. */
  private evictFull(now: number): void {
    for (const [k, b] of this.buckets) {
      if (b.tokens + (now - b.updatedAt) * this.perMs >= this.perMinute) this.buckets.delete(k);
    }
    // Still full of active callers: forget the oldest half rather than everyone's state.
    if (this.buckets.size >= MAX_BUCKETS) {
      let drop = this.buckets.size / 2;
      for (const k of this.buckets.keys()) {
        if (drop-- <= 0) break;
        this.buckets.delete(k);
      }
    }
  }
}
