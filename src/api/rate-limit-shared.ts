// rate_limit.per_minute per credential across replicas (API.md §11). The bucket of record is
// in the database (Store.exchangeRateTokens: one statement, refilled in the database's time);
// asking it for every request would put a round trip in front of every call, so each replica
// takes a few tokens at a time and spends them locally. The rules that keep that honest:
// - a replica holds at most one second's worth (ceil(per_minute / 60)) of a key, so tokens
//   taken here are never kept from the other replicas for long;
// - it starts with one token and doubles the next take only while a take is used up within a
//   second; what is left of a take after a second goes back to the bucket (one statement for
//   every key, every second, and on close) and the next take starts from the pace of that
//   second. So a replica holds about what its share of the caller's traffic needs: a caller
//   near its limit whose requests land on one replica, then another, is not refused for
//   tokens another replica sits on (a fixed take of a second's worth was, in the tests), and
//   RateLimit-Remaining stays close to the truth;
// - a caller whose bucket was empty when last seen is refused here until the refill since
//   then makes a token, without asking the database again (a client hammering at its limit
//   costs no statements);
// - the database unreachable: each replica limits on its own (fails open, logged once per
//   outage) and asks the database again at most once a second.
// Tokens are only ever taken from the bucket, so all replicas together never let through more
// than per_minute per minute; only the fallback during an outage can.
import { type Clock, every, type Scheduler, systemScheduler } from "../domain/clock.ts";
import type { RateTokenBalance, RateTokenChange, Store } from "../domain/store.ts";
import { type RateDecision, RateLimiter, type RequestLimiter, rateDecision } from "./rate-limit.ts";

/** A take older than this gives back what is left of it. */
export const HOLD_MS = 1_000;
/** After a failed statement, the database is asked again at most this often. */
export const RETRY_MS = 1_000;
/** A key not seen for this long is forgotten here (the bucket of record is in the database). */
const IDLE_MS = 10_000;
const MAX_KEYS = 100_000;

export type ExchangeRateTokens = (perMinute: number, changes: readonly RateTokenChange[]) => Promise<RateTokenBalance[]>;

export interface LimiterLog {
  warn(obj: object, msg: string): void;
  info(msg: string): void;
}

/**
 * The next take's size once the last one ran out: doubled (up to one second's worth, `max`)
 * when it ran out within HOLD_MS — the caller is faster than that take — else the same.
 */
export function nextWant(want: number, max: number, usedUpAfterMs: number): number {
  return usedUpAfterMs < HOLD_MS ? Math.min(max, want * 2) : want;
}

interface Held {
  /** Whole tokens taken from the bucket for this replica and not spent yet. */
  local: number;
  /** The bucket's tokens when last seen, and when (this replica's clock, for durations only). */
  seen: number;
  seenAt: number;
  /** When the tokens held were taken, and how many of that take were spent. */
  takenAt: number;
  spent: number;
  want: number;
  asking?: Promise<void> | undefined;
}

export interface SharedLimiterOptions {
  perMinute: number;
  exchange: ExchangeRateTokens;
  clock: Clock;
  scheduler?: Scheduler;
  logger: LimiterLog;
}

export class SharedRateLimiter implements RequestLimiter {
  readonly enabled: boolean;
  private readonly held = new Map<string, Held>();
  private readonly fallback: RateLimiter;
  private readonly perMinute: number;
  private readonly perMs: number;
  private readonly maxTake: number;
  private readonly flusher: { stop(): void };
  private flushing: Promise<void> | undefined;
  private down = false;
  private retryAt = 0;
  private closed = false;

  constructor(private readonly opts: SharedLimiterOptions) {
    this.perMinute = opts.perMinute;
    this.enabled = opts.perMinute > 0;
    this.perMs = opts.perMinute / 60_000;
    this.maxTake = Math.max(1, Math.ceil(opts.perMinute / 60));
    this.fallback = new RateLimiter(opts.perMinute, opts.clock);
    this.flusher = every(opts.scheduler ?? systemScheduler, HOLD_MS, () => {
      this.flushing ??= this.flush(false).finally(() => {
        this.flushing = undefined;
      });
    });
  }

  take(key: string): RateDecision | Promise<RateDecision> {
    const h = this.held.get(key);
    if (h !== undefined && h.local >= 1) return this.spend(h);
    return this.ask(key);
  }

  /** Tokens held here, of every key (tests and the one-second bound). */
  heldTokens(): number {
    let n = 0;
    for (const h of this.held.values()) n += h.local;
    return n;
  }

  /** Resolves once the give-back running now (if any) is done; for tests driving the scheduler. */
  async settled(): Promise<void> {
    await this.flushing;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.flusher.stop();
    await this.flushing;
    await this.flush(true);
  }

  private async ask(key: string): Promise<RateDecision> {
    for (;;) {
      let h = this.held.get(key);
      if (h !== undefined && h.local >= 1) return this.spend(h);
      if (this.offline()) return this.fallback.take(key);
      if (h === undefined) {
        if (this.held.size >= MAX_KEYS) return this.fallback.take(key);
        h = { local: 0, seen: Number.NaN, seenAt: 0, takenAt: Number.NEGATIVE_INFINITY, spent: 0, want: 1 };
        this.held.set(key, h);
      }
      if (h.asking === undefined) {
        const estimate = this.estimate(h);
        if (estimate !== undefined && estimate < 1) return rateDecision(false, estimate, this.perMinute, this.perMs);
        h.asking = this.takeMore(key, h);
      }
      // Concurrent callers of one key wait for the same statement, then spend what it brought.
      await h.asking;
    }
  }

  private async takeMore(key: string, h: Held): Promise<void> {
    const now = this.opts.clock.now();
    if (h.spent > 0) h.want = nextWant(h.want, this.maxTake, now - h.takenAt);
    try {
      const [balance] = await this.opts.exchange(this.perMinute, [{ key, count: h.want }]);
      if (balance === undefined) throw new Error("the store answered no balance for a take");
      this.back();
      const at = this.opts.clock.now();
      h.seen = balance.tokens;
      h.seenAt = at;
      // The bucket ran dry: the caller is at its limit, and what comes back (a second's worth a
      // second, for all replicas) is shared by pace again from one token, as at the start.
      if (balance.granted < h.want) h.want = 1;
      if (balance.granted > 0) {
        h.local += balance.granted;
        h.takenAt = at;
        h.spent = 0;
      }
    } catch (err) {
      this.lost(err);
    } finally {
      h.asking = undefined;
    }
  }

  private spend(h: Held): RateDecision {
    h.local -= 1;
    h.spent += 1;
    return rateDecision(true, Math.min(this.perMinute, (this.estimate(h) ?? 0) + h.local), this.perMinute, this.perMs);
  }

  /** The bucket as last seen plus its refill since: what other replicas took meanwhile is unknown here. */
  private estimate(h: Held): number | undefined {
    if (Number.isNaN(h.seen)) return undefined;
    return Math.min(this.perMinute, h.seen + Math.max(0, this.opts.clock.now() - h.seenAt) * this.perMs);
  }

  /** Gives back what is left of takes older than HOLD_MS (all of them when closing), and forgets idle keys. */
  private async flush(all: boolean): Promise<void> {
    const now = this.opts.clock.now();
    const changes: RateTokenChange[] = [];
    for (const [key, h] of this.held) {
      if (h.local > 0 && (all || now - h.takenAt >= HOLD_MS)) {
        changes.push({ key, count: -h.local });
        // The pace of the last second is what the next take starts from.
        h.want = Math.max(1, Math.min(this.maxTake, h.spent));
        h.seen = (this.estimate(h) ?? 0) + h.local;
        h.seenAt = now;
        h.local = 0;
        h.spent = 0;
      } else if (h.local === 0 && h.asking === undefined && now - h.seenAt >= IDLE_MS) {
        this.held.delete(key);
      }
    }
    // Tokens given back into an outage are lost; the bucket refills them within a second.
    if (!all && this.down && now < this.retryAt) return;
    try {
      // Called even with nothing to give back: the store may forget buckets that are full again.
      await this.opts.exchange(this.perMinute, changes);
      if (changes.length > 0) this.back();
    } catch (err) {
      this.lost(err);
    }
  }

  /** True while the database is known unreachable; once a second one caller is let through to try it. */
  private offline(): boolean {
    if (!this.down) return false;
    const now = this.opts.clock.now();
    if (now < this.retryAt) return true;
    this.retryAt = now + RETRY_MS;
    return false;
  }

  private lost(err: unknown): void {
    this.retryAt = this.opts.clock.now() + RETRY_MS;
    if (this.down || this.closed) return;
    this.down = true;
    this.opts.logger.warn(
      { err: err instanceof Error ? err.message : String(err) },
      "rate limit: the database cannot be reached; each replica limits on its own until it is back",
    );
  }

  private back(): void {
    if (!this.down) return;
    this.down = false;
    this.opts.logger.info("rate limit: shared across replicas again");
  }
}

/**
 * The limiter for a store: shared buckets where the store has them (PostgreSQL, several
 * replicas), else this process's own (SQLite, one process) — the same as before, and as fast.
 */
export function rateLimiterFor(
  perMinute: number,
  store: Store,
  deps: { clock: Clock; logger: LimiterLog; scheduler?: Scheduler },
): RequestLimiter {
  const exchange = store.exchangeRateTokens;
  if (perMinute <= 0 || exchange === undefined) return new RateLimiter(perMinute, deps.clock);
  return new SharedRateLimiter({
    perMinute,
    exchange: (p, changes) => exchange.call(store, p, changes),
    clock: deps.clock,
    logger: deps.logger,
    ...(deps.scheduler ? { scheduler: deps.scheduler } : {}),
  });
}
