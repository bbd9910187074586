// The token buckets every replica shares (API.md §11: rate_limit.per_minute per credential
// across replicas). A row of `rate_buckets` is one bucket: `tokens` as of `refilled_at`, in the
// database's time (DB_NOW_MS), so replica clocks do not matter. No row is a full bucket.
//
// One statement per call, for any number of keys (unnest): the rows that exist are locked in key
// order (two replicas' batches cannot deadlock), refilled, and changed; a take gets what the
// bucket has, at most `count`. RETURNING sees only the new row (RETURNING OLD is PostgreSQL 18),
// so the bucket as it was comes from the locked read in `cur`: FOR UPDATE in READ COMMITTED
// returns the latest committed version and holds it, so the UPDATE changes exactly that version.
// A key without a row is inserted as a full bucket minus the take; when another replica
// inserted it meanwhile, ON CONFLICT DO NOTHING gives no row and the take is asked again (then
// the row exists and is locked like any other).
import type { RateTokenBalance, RateTokenChange } from "../../../domain/store.ts";
import { DB_NOW_MS, num } from "../client.ts";
import type { PgContext } from "../context.ts";

// $1 keys, $2 counts, $3 the burst (per_minute), $4 refill per millisecond.
const EXCHANGE = `WITH r AS (SELECT * FROM unnest($1::text[], $2::float8[]) AS u(key, count)),
  now AS (SELECT ${DB_NOW_MS} AS ms),
  cur AS (
    SELECT b.key, r.count, now.ms,
      least($3::float8, b.tokens + greatest(0, now.ms - b.refilled_at) * $4::float8) AS avail
    FROM rate_buckets b JOIN r ON r.key = b.key CROSS JOIN now
    ORDER BY b.key FOR UPDATE OF b
  ),
  g AS (
    SELECT key, ms, avail, CASE WHEN count > 0 THEN least(count, floor(avail)) ELSE count END AS granted FROM cur
  ),
  upd AS (
    UPDATE rate_buckets b SET tokens = least($3::float8, g.avail - g.granted), refilled_at = greatest(b.refilled_at, g.ms)
    FROM g WHERE b.key = g.key
    RETURNING b.key, g.granted, b.tokens
  ),
  ins AS (
    INSERT INTO rate_buckets (key, tokens, refilled_at)
    SELECT r.key, $3::float8 - least(r.count, floor($3::float8)), now.ms FROM r CROSS JOIN now
    WHERE r.count > 0 AND NOT EXISTS (SELECT 1 FROM cur WHERE cur.key = r.key)
    ORDER BY r.key
    ON CONFLICT (key) DO NOTHING
    RETURNING key, $3::float8 - tokens AS granted, tokens
  )
SELECT key, granted, tokens FROM upd UNION ALL SELECT key, granted, tokens FROM ins`;

// A bucket untouched for a minute has refilled to full whatever it held (it refills per_minute
// per minute): the same as no row. Without this, every address that ever failed to authenticate
// would keep a row.
const FORGET = `DELETE FROM rate_buckets WHERE refilled_at < ${DB_NOW_MS} - 60000`;
const FORGET_EVERY_MS = 60_000;
// Inserted by another replica between our read and our insert: asked again, then the row exists.
const TRIES = 3;

export function pgRateLimitQueries(ctx: PgContext) {
  // The first give-back (a second after the limiter starts) sweeps, then once a minute.
  let forgotAt = Number.NEGATIVE_INFINITY;
  return {
    async exchangeRateTokens(perMinute: number, changes: readonly RateTokenChange[]): Promise<RateTokenBalance[]> {
      if (new Set(changes.map((c) => c.key)).size !== changes.length) throw new Error("rate bucket keys must be unique per call");
      const takes = changes.some((c) => c.count > 0);
      // Only a call nobody waits for (the give-backs) pays for the sweep.
      if (!takes && performance.now() - forgotAt >= FORGET_EVERY_MS) {
        forgotAt = performance.now();
        await ctx.client.query(FORGET);
      }
      const out: RateTokenBalance[] = [];
      let pending = changes.filter((c) => c.count !== 0);
      for (let attempt = 1; pending.length > 0; attempt++) {
        const rows = await ctx.client.query(EXCHANGE, [
          pending.map((c) => c.key),
          pending.map((c) => c.count),
          perMinute,
          perMinute / 60_000,
        ]);
        const answered = new Set<string>();
        for (const row of rows) {
          const key = String(row.key);
          answered.add(key);
          out.push({ key, granted: num(row.granted), tokens: num(row.tokens) });
        }
        // A give-back to a bucket without a row changes nothing (no row is full).
        pending = pending.filter((c) => c.count > 0 && !answered.has(c.key));
        if (pending.length > 0 && attempt >= TRIES) throw new Error("rate bucket kept being inserted concurrently");
      }
      return out;
    },
  };
}
