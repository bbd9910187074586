// API.md §11: rate_limit.per_minute per credential across replicas. The limiter each replica runs
// on top of the shared buckets, against a stand-in for Store.exchangeRateTokens that keeps the
// buckets the way the PostgreSQL statement does (test/db/pg-rate-limits.test.ts checks that
// statement itself). Time is one ManualScheduler: the replicas' clocks and the "database" clock.
import { describe, expect, test } from "bun:test";
import { RateLimiter, rateDecision } from "../../src/api/rate-limit.ts";
import {
  type ExchangeRateTokens,
  HOLD_MS,
  nextWant,
  RETRY_MS,
  rateLimiterFor,
  SharedRateLimiter,
} from "../../src/api/rate-limit-shared.ts";
import { ManualScheduler } from "../../src/domain/clock.ts";
import type { RateTokenChange, Store } from "../../src/domain/store.ts";

/** The shared buckets as the statement keeps them: refilled in "database" time, takes capped by what is there. */
function fakeDatabase(now: () => number) {
  const buckets = new Map<string, { tokens: number; at: number }>();
  const calls: RateTokenChange[][] = [];
  const asking = new Map<string, number>();
  let mostAtOnce = 0;
  let failing: Error | undefined;
  const exchange: ExchangeRateTokens = async (perMinute, changes) => {
    calls.push([...changes]);
    for (const c of changes) {
      const n = (asking.get(c.key) ?? 0) + 1;
      asking.set(c.key, n);
      mostAtOnce = Math.max(mostAtOnce, n);
    }
    await Promise.resolve();
    for (const c of changes) asking.set(c.key, (asking.get(c.key) ?? 1) - 1);
    if (failing) throw failing;
    const perMs = perMinute / 60_000;
    const t = now();
    return changes.flatMap((c) => {
      const b = buckets.get(c.key);
      if (b === undefined) {
        if (c.count <= 0) return [];
        const granted = Math.min(c.count, Math.floor(perMinute));
        buckets.set(c.key, { tokens: perMinute - granted, at: t });
        return [{ key: c.key, granted, tokens: perMinute - granted }];
      }
      const avail = Math.min(perMinute, b.tokens + Math.max(0, t - b.at) * perMs);
      const granted = c.count > 0 ? Math.min(c.count, Math.floor(avail)) : c.count;
      b.tokens = Math.min(perMinute, avail - granted);
      b.at = Math.max(b.at, t);
      return [{ key: c.key, granted, tokens: b.tokens }];
    });
  };
  return {
    exchange,
    calls,
    /** Most statements in flight at once for one key. */
    mostAtOnce: () => mostAtOnce,
    tokens: (key: string) => buckets.get(key)?.tokens,
    set(key: string, tokens: number) {
      buckets.set(key, { tokens, at: now() });
    },
    fail(err: Error | undefined) {
      failing = err;
    },
  };
}

function recordingLog() {
  const lines: string[] = [];
  return { lines, warn: (_: object, msg: string) => void lines.push(`warn ${msg}`), info: (msg: string) => void lines.push(`info ${msg}`) };
}

function setup(perMinute: number, replicas = 1) {
  const scheduler = new ManualScheduler();
  const db = fakeDatabase(() => scheduler.now());
  const log = recordingLog();
  const limiters = Array.from(
    { length: replicas },
    () => new SharedRateLimiter({ perMinute, exchange: db.exchange, clock: scheduler, scheduler, logger: log }),
  );
  /** Moves time on, letting the give-backs the timers started finish. */
  const advance = async (ms: number) => {
    scheduler.advance(ms);
    for (const l of limiters) await l.settled();
  };
  return { scheduler, db, log, limiters, advance };
}

describe("the rules", () => {
  test.each([
    // want, one second's worth, ms the last take lasted: doubled while used up within a second.
    [1, 100, 0, 2],
    [64, 100, 999, 100],
    [100, 100, 10, 100],
    [4, 100, HOLD_MS, 4],
    [4, 100, 60_000, 4],
    [1, 1, 0, 1],
  ] as const)("nextWant(%p, max %p, after %p ms) = %p", (want, max, after, next) => {
    expect(nextWant(want, max, after)).toBe(next);
  });

  test.each([
    // allowed, tokens left, per minute → remaining, reset s, Retry-After s
    [true, 2, 3, 2, 20, 0],
    [true, 0, 3, 0, 60, 0],
    [false, 0, 3, 0, 60, 20],
    [false, 0.5, 60, 0, 60, 1],
    [true, 5999.5, 6000, 5999, 1, 0],
  ] as const)("rateDecision(%p, %p of %p)", (allowed, tokens, perMinute, remaining, reset, retry) => {
    const d = rateDecision(allowed, tokens, perMinute, perMinute / 60_000);
    expect(d).toEqual({ allowed, limit: perMinute, remaining, resetSeconds: reset, retryAfterSeconds: retry });
  });
});

describe("SharedRateLimiter", () => {
  test.each([3, 120, 6000])("alone, it answers as this process's own bucket would (per_minute %p)", async (perMinute) => {
    const { limiters, scheduler, advance } = setup(perMinute);
    const shared = limiters[0] as SharedRateLimiter;
    const local = new RateLimiter(perMinute, scheduler);
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < perMinute + 2; i++) {
        const [a, b] = [await shared.take("k"), local.take("k")];
        expect({ i, ...a }).toEqual({ i, ...b });
      }
      await advance(30_000);
    }
  });

  test("two replicas in a burst let through per_minute together, each holding at most one second's worth", async () => {
    const perMinute = 600;
    const { limiters } = setup(perMinute, 2);
    let allowed = 0;
    for (let i = 0; i < 2 * perMinute; i++) {
      const l = limiters[i % 2] as SharedRateLimiter;
      if ((await l.take("k")).allowed) allowed++;
      for (const r of limiters) expect(r.heldTokens()).toBeLessThanOrEqual(perMinute / 60);
    }
    expect(allowed).toBe(perMinute);
  });

  /** `perSecond` requests every second for two minutes, each on a random replica, all at once; the seconds refused in. */
  async function steadyClient(limiters: SharedRateLimiter[], advance: (ms: number) => Promise<void>, perSecond: number) {
    let seed = 7;
    const random = () => {
      seed = (seed * 48271) % 2_147_483_647;
      return seed / 2_147_483_647;
    };
    const refusedIn: number[] = [];
    for (let second = 0; second < 120; second++) {
      await advance(1_000);
      for (let i = 0; i < perSecond; i++) {
        const replica = limiters[Math.floor(random() * limiters.length)] as SharedRateLimiter;
        if (!(await replica.take("k")).allowed) refusedIn.push(second);
      }
    }
    return refusedIn;
  }

  test.each([
    [600, 3, 8],
    [6000, 10, 80],
  ])("per_minute %p through %p replicas: a client at 80%% of its limit is never refused", async (perMinute, replicas, perSecond) => {
    const { limiters, advance } = setup(perMinute, replicas);
    expect(await steadyClient(limiters, advance, perSecond)).toEqual([]);
  });

  test.each([
    [600, 3, 8],
    [6000, 10, 80],
  ])("per_minute %p through %p replicas: after a burst emptied the bucket, the same client is refused at most in the next two seconds, and rarely", async (perMinute, replicas, perSecond) => {
    const { limiters, advance } = setup(perMinute, replicas);
    const [first] = limiters as [SharedRateLimiter];
    while ((await first.take("k")).allowed) {}
    // The replica that served the burst starts again from one token (its last take came back
    // short), so it does not sit on the refill the others need. A fixed take of one second's
    // worth at every replica (the simplest design) was refused 7 and 472 times here, all along
    // the two minutes: a replica sat on tokens the next request, elsewhere, needed.
    const refusedIn = await steadyClient(limiters, advance, perSecond);
    expect(refusedIn.filter((s) => s >= 2)).toEqual([]);
    expect(refusedIn.length).toBeLessThanOrEqual(Math.ceil(2 * perSecond * 0.05));
  });

  test("what is left of a take goes back after a second, and the next take starts from the pace seen", async () => {
    const { limiters, db, advance } = setup(6000); // 100 a second
    const [a] = limiters as [SharedRateLimiter];
    db.set("k", 1000);
    for (let i = 0; i < 40; i++) expect((await a.take("k")).allowed).toBe(true);
    // Takes of 1, 2, 4, 8, 16, 32: 63 taken for 40 spent.
    expect(db.calls.map((c) => c[0]?.count)).toEqual([1, 2, 4, 8, 16, 32]);
    expect(a.heldTokens()).toBe(23);
    expect(db.tokens("k")).toBe(1000 - 63);
    await advance(HOLD_MS - 1);
    expect(a.heldTokens()).toBe(23);
    await advance(1);
    expect(a.heldTokens()).toBe(0);
    expect(db.calls.at(-1)).toEqual([{ key: "k", count: -23 }]);
    // 40 spent; a second's refill (100) and the 23 given back.
    expect(db.tokens("k")).toBeCloseTo(1000 - 40 + 100, 6);
    // 32 of the last take were taken, 9 spent: the next take asks for 9.
    const before = db.calls.length;
    await a.take("k");
    expect(db.calls.slice(before).find((c) => c.some((x) => x.count > 0))).toEqual([{ key: "k", count: 9 }]);
  });

  test("an empty bucket is refused here without asking the database, until the refill makes a token", async () => {
    const { limiters, db, advance } = setup(60); // one a second
    const [a] = limiters as [SharedRateLimiter];
    for (let i = 0; i < 60; i++) expect((await a.take("k")).allowed).toBe(true);
    const denied = await a.take("k");
    expect(denied).toMatchObject({ allowed: false, remaining: 0, retryAfterSeconds: 1 });
    const statements = db.calls.filter((c) => c.length > 0).length;
    for (let i = 0; i < 50; i++) expect((await a.take("k")).allowed).toBe(false);
    expect(db.calls.filter((c) => c.length > 0).length).toBe(statements);
    await advance(1_000);
    expect((await a.take("k")).allowed).toBe(true);
    expect((await a.take("k")).allowed).toBe(false);
  });

  test("concurrent requests for one key share one statement at a time, and all get what the bucket has", async () => {
    const { limiters, db } = setup(30);
    const [a] = limiters as [SharedRateLimiter];
    const decisions = await Promise.all(Array.from({ length: 40 }, () => a.take("k")));
    expect(db.mostAtOnce()).toBe(1);
    expect(decisions.filter((d) => d.allowed)).toHaveLength(30);
    expect(decisions.filter((d) => !d.allowed).every((d) => d.retryAfterSeconds >= 1)).toBe(true);
  });

  test("the database unreachable: each replica limits on its own, logs once, and asks again once a second", async () => {
    const { limiters, db, log, advance } = setup(5);
    const [a] = limiters as [SharedRateLimiter];
    expect((await a.take("k")).allowed).toBe(true);
    db.fail(new Error("connection refused"));
    const calls = db.calls.length;
    // Its own bucket, full: five more (it fails open), then refused.
    const during = [];
    for (let i = 0; i < 7; i++) during.push((await a.take("k")).allowed);
    expect(during).toEqual([true, true, true, true, true, false, false]);
    expect(db.calls.length).toBe(calls + 1);
    expect(log.lines).toEqual(["warn rate limit: the database cannot be reached; each replica limits on its own until it is back"]);
    await advance(RETRY_MS);
    await a.take("other");
    expect(db.calls.length).toBeLessThanOrEqual(calls + 3); // the flush tick and one take
    expect(log.lines).toHaveLength(1);

    db.fail(undefined);
    await advance(RETRY_MS);
    const back = await a.take("k");
    expect(back.allowed).toBe(true);
    expect(back.remaining).toBe(3); // the shared bucket again: 1 before the outage, this one
    expect(log.lines.at(-1)).toBe("info rate limit: shared across replicas again");
  });

  test("close gives back everything held and stops the timer", async () => {
    const { limiters, db, scheduler } = setup(6000);
    const [a] = limiters as [SharedRateLimiter];
    for (let i = 0; i < 4; i++) await a.take("k");
    expect(a.heldTokens()).toBe(3);
    await a.close();
    expect(a.heldTokens()).toBe(0);
    expect(db.tokens("k")).toBe(6000 - 4);
    expect(scheduler.pending).toBe(0);
  });
});

describe("rateLimiterFor", () => {
  const scheduler = new ManualScheduler();
  const deps = { clock: scheduler, scheduler, logger: recordingLog() };

  test("a store without shared buckets (SQLite) gets this process's own, answering synchronously", () => {
    const limiter = rateLimiterFor(3, {} as Store, deps);
    expect(limiter).toBeInstanceOf(RateLimiter);
    expect(limiter.take("k")).toMatchObject({ allowed: true, remaining: 2 });
  });

  test("a store with them (PostgreSQL) gets the shared limiter; per_minute 0 stays off", async () => {
    const db = fakeDatabase(() => scheduler.now());
    const store = { exchangeRateTokens: db.exchange } as unknown as Store;
    const limiter = rateLimiterFor(3, store, deps);
    expect(limiter).toBeInstanceOf(SharedRateLimiter);
    expect(await limiter.take("k")).toMatchObject({ allowed: true, remaining: 2 });
    expect(db.tokens("k")).toBe(2);
    await limiter.close();
    expect(rateLimiterFor(0, store, deps).enabled).toBe(false);
  });
});
