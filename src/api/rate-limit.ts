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

interface Bucket {
  tokens: number;
  updatedAt: number;
}

// Per process by design (DESIGN.md): several replicas each enforce the limit on their own.
const MAX_BUCKETS = 100_000;

/** A token bucket per credential: burst = per_minute, refilled at per_minute per minute. */
export class RateLimiter {
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
    const missing = cap - b.tokens;
    return {
      allowed,
      limit: cap,
      remaining: Math.floor(b.tokens),
      resetSeconds: Math.ceil(missing / this.perMs / 1000),
      retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil((1 - b.tokens) / this.perMs / 1000)),
    };
  }

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
