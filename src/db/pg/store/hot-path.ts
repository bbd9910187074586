// What the hot paths of the PostgreSQL store (ingest.ts, claims.ts, outcomes.ts) share: whose
// clock leases are in, how claim tokens look, and the transaction that is tried again when
// PostgreSQL breaks a deadlock by aborting it.
import { DB_NOW_MS, type PgClient, type PgQueryable, sqlState } from "../client.ts";

/**
 * Whose clock a lease is granted in and compared with. "database" (production, API.md §11):
 * PostgreSQL's, so a replica whose clock runs ahead cannot take a live lease for an expired one,
 * nor one running behind grant a lease that is already over. "caller": the `now` the port is
 * given, as the SQLite store does — for the store contract suite, whose tests drive time.
 */
export type LeaseClock = "database" | "caller";

export interface HotPathOptions {
  /** Default "database". */
  leaseClock?: LeaseClock;
}

/**
 * "Now" as SQL for lease grants and lease-expiry comparisons: the database's clock, or the
 * caller's `now` bound at `param` (e.g. "$2").
 */
export function leaseNow(clock: LeaseClock, param: string): string {
  return clock === "database" ? DB_NOW_MS : `${param}::bigint`;
}

/**
 * Claim tokens start with the replica's id, so a replica giving claims back (releaseClaims:
 * ids only) touches only claims it holds, never one another replica took after its lease ran
 * out; the rest of the token is fresh per claim (the fence an outcome is written against).
 */
export function tokenPrefix(replicaId: string): string {
  return `${replicaId}/`;
}

export function newClaimToken(replicaId: string): string {
  return `${tokenPrefix(replicaId)}${crypto.randomUUID()}`;
}

// 40P01: deadlock detected (PostgreSQL aborted one of the transactions in a lock cycle);
// 40001: serialization failure. Both mean "nothing was done, run it again".
const RETRYABLE = new Set(["40P01", "40001"]);
const TRIES = 4;

/**
 * `fn` in one transaction, run again (a few times) when PostgreSQL aborts it to break a
 * deadlock. Lock cycles are rare (every statement here locks rows in id order) but possible:
 * an outcome locks its delivery then its webhook, a disable its webhook then the pending
 * deliveries. `fn` must not keep effects of a try that threw.
 */
export async function transaction<T>(client: PgClient, fn: (tx: PgQueryable) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await client.transaction(fn);
    } catch (err) {
      if (attempt >= TRIES || !RETRYABLE.has(sqlState(err) ?? "")) throw err;
    }
  }
}
