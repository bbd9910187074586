// Leases one replica at a time holds (API.md §11: the sweep's housekeeping runs on one replica at
// a time). A lease is a row of `leader`: taken when nobody holds it or the holder's time ran out,
// renewed by its holder, in ONE conditional statement — no advisory lock (distributed engines
// lack them) and no replica clock: `expires_at` is written and compared in the database's time
// (DB_NOW_MS), so a replica whose clock runs ahead cannot take a lease that has not run out.
//
// Two replicas asking at the same instant: the INSERT of one wins the row; the other's ON
// CONFLICT waits for that commit, then re-checks its WHERE against the row as committed (READ
// COMMITTED re-evaluates an ON CONFLICT DO UPDATE on the latest version), finds it held by
// another and unexpired, and updates nothing — RETURNING gives it no row.
import { DB_NOW_MS } from "../client.ts";
import type { PgContext } from "../context.ts";

const HOLD = `INSERT INTO leader AS l (name, holder, expires_at) VALUES ($1, $2, ${DB_NOW_MS} + $3::bigint)
  ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
  WHERE l.expires_at < ${DB_NOW_MS} OR l.holder = EXCLUDED.holder
  RETURNING l.holder`;

export function pgLeaderQueries(ctx: PgContext) {
  return {
    /**
     * Takes or renews the lease `name` for this replica (ctx.replicaId) for `ttlMs` of database
     * time; true while this replica holds it. The holder renews it before it runs out (the sweep
     * asks on every run), so it stays with one replica until that one stops asking.
     */
    async holdLease(name: string, ttlMs: number): Promise<boolean> {
      const rows = await ctx.client.query(HOLD, [name, ctx.replicaId, Math.max(1, Math.round(ttlMs))]);
      return rows.length > 0;
    },
  };
}
