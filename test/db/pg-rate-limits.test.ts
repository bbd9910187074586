// API.md §11: rate_limit.per_minute is per credential across all replicas. The shared buckets
// on a real PostgreSQL: the statement (Store.exchangeRateTokens), then replicas — limiters on
// their own stores and connections, and two HTTP apps — on one database, and the database going
// away. Database time passes here by moving a bucket's refilled_at into the past, never by
// sleeping; the replicas' clocks are injected and may be far apart.
import { afterEach, expect } from "bun:test";
import { createApp } from "../../src/api/app.ts";
import { RETRY_MS, SharedRateLimiter } from "../../src/api/rate-limit-shared.ts";
import { connectPostgres, DB_NOW_MS, num } from "../../src/db/pg/client.ts";
import { applyPgMigrations } from "../../src/db/pg/migrate.ts";
import { createPostgresStore } from "../../src/db/pg/store.ts";
import { ManualScheduler } from "../../src/domain/clock.ts";
import type { Store } from "../../src/domain/store.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { createRuntime } from "../../src/runtime.ts";
import { publicResolver, ROOT_KEY, testConfig } from "../support/harness.ts";
import { describePostgres, freshDatabase, postgresTest, startPostgres } from "../support/postgres.ts";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A migrated database and `n` stores on it, each with its own connections (one per replica). */
async function replicas(n: number, url?: string) {
  const dbUrl = url ?? (await freshDatabase());
  const admin = connectPostgres(dbUrl, 1);
  cleanups.push(() => admin.close());
  await applyPgMigrations(admin);
  const stores: Store[] = [];
  for (let i = 0; i < n; i++) {
    const store = createPostgresStore(connectPostgres(dbUrl, 4), { replicaId: `replica-${i}` });
    cleanups.push(() => store.close());
    stores.push(store);
  }
  /** The bucket's row: its tokens, and its refill time's distance from the database's now. */
  const bucket = async (key: string) => {
    const [row] = await admin.query(`SELECT tokens, ${DB_NOW_MS} - refilled_at AS age FROM rate_buckets WHERE key = $1`, [key]);
    return row === undefined ? undefined : { tokens: num(row.tokens), age: num(row.age) };
  };
  /** Database time passing for one bucket: its refill time moved `ms` into the past. */
  const age = (key: string, ms: number) => admin.query("UPDATE rate_buckets SET refilled_at = refilled_at - $2 WHERE key = $1", [key, ms]);
  return { url: dbUrl, admin, stores, bucket, age };
}

function exchangeOf(store: Store) {
  const exchange = store.exchangeRateTokens;
  if (exchange === undefined) throw new Error("the PostgreSQL store has no shared rate buckets");
  return exchange;
}

function recordingLog() {
  const lines: string[] = [];
  return { lines, warn: (_: object, msg: string) => void lines.push(`warn ${msg}`), info: (msg: string) => void lines.push(`info ${msg}`) };
}

/** A limiter per store, each on its own clock (set `skewMs` apart) and its own manual timers. */
function limitersOn(stores: Store[], perMinute: number, skewMs = 0) {
  const log = recordingLog();
  const replicas = stores.map((store, i) => {
    const scheduler = new ManualScheduler();
    scheduler.advance(i * skewMs);
    const limiter = new SharedRateLimiter({ perMinute, exchange: exchangeOf(store), clock: scheduler, scheduler, logger: log });
    cleanups.push(() => limiter.close());
    return { limiter, scheduler };
  });
  return { replicas, log };
}

describePostgres("the shared rate buckets (PostgreSQL)", () => {
  postgresTest("a take gets what the bucket has; a give-back is capped at full; no row is a full bucket", async () => {
    const { stores, bucket } = await replicas(1);
    const exchange = exchangeOf(stores[0] as Store);
    expect(await exchange(10, [{ key: "k", count: 3 }])).toEqual([{ key: "k", granted: 3, tokens: 7 }]);
    const [short] = await exchange(10, [{ key: "k", count: 20 }]);
    expect(short?.granted).toBe(7);
    expect(short?.tokens).toBeGreaterThanOrEqual(0);
    expect(short?.tokens).toBeLessThan(1);
    const [empty] = await exchange(10, [{ key: "k", count: 1 }]);
    expect(empty?.granted).toBe(0);
    const [back] = await exchange(10, [
      { key: "k", count: -100 },
      { key: "nobody", count: -5 },
    ]);
    expect(back).toEqual({ key: "k", granted: -100, tokens: 10 });
    expect(await bucket("nobody")).toBeUndefined();
    // Several keys in one statement, a new one among them.
    const both = await exchange(10, [
      { key: "k", count: 4 },
      { key: "new", count: 15 },
    ]);
    expect(both.map((b) => [b.key, b.granted]).sort()).toEqual([
      ["k", 4],
      ["new", 10],
    ]);
  });

  postgresTest("the refill is the database's time: a bucket untouched for 30 s of it holds 30 s more, and after a minute it is forgotten", async () => {
    const { stores, bucket, age } = await replicas(1);
    const exchange = exchangeOf(stores[0] as Store);
    await exchange(60, [{ key: "k", count: 60 }]);
    expect((await bucket("k"))?.tokens).toBeLessThan(1);
    await age("k", 30_000);
    const [refilled] = await exchange(60, [{ key: "k", count: 60 }]);
    expect(refilled?.granted).toBe(30);
    // refilled_at moved to the database's now.
    expect((await bucket("k"))?.age).toBeLessThan(1_000);
    // Idle for a minute: full, so the row goes at the next call without takes (the give-backs).
    await age("k", 60_001);
    await exchange(60, []);
    expect(await bucket("k")).toBeUndefined();
  });

  postgresTest("replicas taking at once get no more than the bucket holds, together", async () => {
    const { stores } = await replicas(2);
    const perMinute = 60; // a token a second: this test's own duration adds at most a few
    const started = performance.now();
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) => exchangeOf(stores[i % 2] as Store)(perMinute, [{ key: "race", count: 3 }])),
    );
    const refill = Math.ceil(((performance.now() - started) * perMinute) / 60_000);
    const granted = answers.flat().reduce((sum, b) => sum + b.granted, 0);
    expect(granted).toBeGreaterThanOrEqual(perMinute);
    expect(granted).toBeLessThanOrEqual(perMinute + refill);
  });

  postgresTest("two replicas in a burst let through at most per_minute and one second's worth each, and not much less", async () => {
    const { stores } = await replicas(2);
    const perMinute = 600;
    const second = perMinute / 60;
    const { replicas: rs } = limitersOn(stores, perMinute);
    let allowed = 0;
    // 1,200 requests, 40 at a time, alternating replicas.
    for (let batch = 0; batch < 30; batch++) {
      const decisions = await Promise.all(Array.from({ length: 40 }, (_, i) => (rs[i % 2] as (typeof rs)[number]).limiter.take("cred:k")));
      allowed += decisions.filter((d) => d.allowed).length;
      for (const r of rs) expect(r.limiter.heldTokens()).toBeLessThanOrEqual(second);
    }
    expect(allowed).toBeLessThanOrEqual(perMinute + 2 * second);
    expect(allowed).toBeGreaterThanOrEqual(perMinute - 2 * second);
  });

  postgresTest("a client at 80% of its limit through three replicas is never refused", async () => {
    const { stores, age } = await replicas(3);
    const perMinute = 600; // 10 a second
    const { replicas: rs } = limitersOn(stores, perMinute);
    const refused: number[] = [];
    // Thirty seconds, eight requests a second round the replicas; each second passes for the
    // replicas (their give-backs run) and for the database (the bucket refills).
    for (let s = 0; s < 30; s++) {
      for (let i = 0; i < 8; i++) {
        const r = rs[(s * 8 + i) % 3] as (typeof rs)[number];
        if (!(await r.limiter.take("cred:k")).allowed) refused.push(s);
      }
      for (const r of rs) {
        r.scheduler.advance(1_000);
        await r.limiter.settled();
      }
      await age("cred:k", 1_000);
    }
    expect(refused).toEqual([]);
  });

  postgresTest("replica clocks an hour apart do not matter: the refill is counted in the database's time", async () => {
    const { stores, age } = await replicas(2);
    const { replicas: rs } = limitersOn(stores, 60, 3_600_000);
    const [a, b] = rs as [(typeof rs)[number], (typeof rs)[number]];
    let allowed = 0;
    while ((await a.limiter.take("cred:k")).allowed) allowed++;
    expect(allowed).toBe(60);
    // The other replica, whose clock is an hour ahead, finds the bucket empty too.
    expect((await b.limiter.take("cred:k")).allowed).toBe(false);
    // 30 s pass in the database; only one on the replica's clock (enough for it to ask again):
    // what it is granted is 30 s of refill.
    await age("cred:k", 30_000);
    a.scheduler.advance(1_000);
    const d = await a.limiter.take("cred:k");
    expect(d.allowed).toBe(true);
    expect(d.remaining).toBe(29);
  });

  postgresTest("through HTTP: two apps on one database count one credential together", async () => {
    const { stores } = await replicas(2);
    const config = testConfig({ rate_limit: { per_minute: 3 } });
    const apps = stores.map((store) => {
      const runtime = createRuntime(config, store, { logger: createLogger("silent"), resolver: publicResolver });
      cleanups.push(() => runtime.deps.limiter.close());
      return createApp(runtime.deps);
    });
    const call = (i: number) =>
      (apps[i] as ReturnType<typeof createApp>).handle(
        new Request("http://127.0.0.1/v1/webhooks", { headers: { authorization: `Bearer ${ROOT_KEY}` } }),
      );
    const seen = [];
    for (const i of [0, 1, 0]) {
      const res = await call(i);
      expect(res.status).toBe(200);
      seen.push(res.headers.get("ratelimit-remaining"));
    }
    expect(seen).toEqual(["2", "1", "0"]);
    for (const i of [1, 0]) {
      const res = await call(i);
      expect(res.status).toBe(429);
      expect(res.headers.get("retry-after")).toBe("20");
      expect(res.headers.get("ratelimit-remaining")).toBe("0");
    }
  });
});

describePostgres("the shared rate buckets when PostgreSQL goes away", () => {
  postgresTest("each replica limits on its own, logs once, and shares again once it is back", async () => {
    const cluster = await startPostgres();
    cleanups.push(() => cluster.stop());
    const { stores, bucket } = await replicas(2, await cluster.freshDatabase());
    const perMinute = 5;
    const { replicas: rs, log } = limitersOn(stores, perMinute);
    const [a, b] = rs as [(typeof rs)[number], (typeof rs)[number]];
    expect((await a.limiter.take("cred:k")).allowed).toBe(true);
    expect((await b.limiter.take("cred:k")).allowed).toBe(true);

    await cluster.down();
    // Fails open: each replica's own bucket, full, then refused there; nothing throws.
    for (const r of [a, b]) {
      const during = [];
      for (let i = 0; i < perMinute + 1; i++) during.push((await r.limiter.take("cred:k")).allowed);
      expect(during).toEqual([true, true, true, true, true, false]);
    }
    // Once per replica for the whole outage, not once per request.
    const warning = "warn rate limit: the database cannot be reached; each replica limits on its own until it is back";
    expect(log.lines).toEqual([warning, warning]);

    await cluster.up();
    // Asked again at most once a second: the reconnection may take a try or two.
    let shared = false;
    for (let tries = 0; tries < 20 && !shared; tries++) {
      a.scheduler.advance(RETRY_MS);
      await a.limiter.take("cred:k");
      shared = log.lines.at(-1) === "info rate limit: shared across replicas again";
    }
    expect(shared).toBe(true);
    // The bucket of record saw the two takes before the outage and this one.
    const row = await bucket("cred:k");
    expect(row?.tokens).toBeGreaterThanOrEqual(perMinute - 3);
    expect(row?.tokens).toBeLessThan(perMinute - 2);
  });
});
