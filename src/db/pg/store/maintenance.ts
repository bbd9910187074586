// Retention and housekeeping on PostgreSQL, in bounded batches so no transaction runs long. The
// sweep runs them on one replica at a time (the leader lease); what they must still hold against
// is the API on any replica recovering failed deliveries of the same events meanwhile
// (requeueFailed in deliveries.ts). No reclaimSpace: PostgreSQL's autovacuum reuses the space.
import type { PurgedRows } from "../../../domain/store.ts";
import { idBoundary } from "../../../lib/ids.ts";
import type { PgQueryable } from "../client.ts";
import type { PgContext } from "../context.ts";

// Events created before $1 with no delivery to make, at most $2. Ids are time-sortable, so
// "created before" is a primary-key range scan, oldest first.
function finishedBefore(andWhere: string): string {
  return `SELECT e.id FROM events e WHERE e.id < $1${andWhere}
    AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND d.status IN ('pending', 'delivering'))
    ORDER BY e.id LIMIT $2`;
}
const PURGEABLE = finishedBefore("");
const PRUNABLE = finishedBefore(" AND e.payload <> ''");

/**
 * Of the candidate events (none had a delivery to make in the first read's snapshot), those that
 * still have none, with their deliveries locked (`mode`) in id order until the commit. A recover
 * that made one pending since is seen here (the lock waits for it, then reads its newest row);
 * one that comes after waits for this transaction and then sees what it did.
 */
async function stillFinished(tx: PgQueryable, candidates: string[], mode: "UPDATE" | "SHARE"): Promise<string[]> {
  const rows = await tx.query<{ event_id: string; status: string }>(
    `SELECT event_id, status FROM deliveries WHERE event_id = ANY($1::text[]) ORDER BY id FOR ${mode}`,
    [candidates],
  );
  const live = new Set(rows.filter((r) => r.status === "pending" || r.status === "delivering").map((r) => r.event_id));
  return candidates.filter((id) => !live.has(id));
}

/** How many rows a data-modifying statement touched: its RETURNING rows, counted in the database. */
async function counted(tx: PgQueryable, statement: string, params: unknown[]): Promise<number> {
  const [row] = await tx.query<{ n: number }>(
    `WITH x AS (${statement} RETURNING 1) SELECT count(*)::int AS n FROM x`,
    params,
  );
  return row?.n ?? 0;
}

const STATS_ROWS_PER_EVENT = 20;

export function pgMaintenanceQueries(ctx: PgContext) {
  const { client } = ctx;
  return {
    async purgeFinished(before: number, limit: number): Promise<PurgedRows> {
      // The stats roll-up follows retention, a row per webhook and minute: more per batch than events.
      await client.query(
        `DELETE FROM attempt_stats WHERE (webhook_id, minute) IN (
           SELECT webhook_id, minute FROM attempt_stats WHERE minute < $1 LIMIT $2)`,
        [before, limit * STATS_ROWS_PER_EVENT],
      );
      return client.transaction(async (tx): Promise<PurgedRows> => {
        const first = await tx.query<{ id: string }>(PURGEABLE, [idBoundary("evt", before), limit]);
        if (first.length === 0) return { events: 0, deliveries: 0, attempts: 0 };
        const ids = await stillFinished(
          tx,
          first.map((r) => r.id),
          "UPDATE",
        );
        if (ids.length === 0) return { events: 0, deliveries: 0, attempts: 0 };
        // Children first, each counted: ON DELETE CASCADE would remove them without a count,
        // and the sweep reports how many deliveries and attempts went.
        const attempts = await counted(
          tx,
          "DELETE FROM attempts WHERE delivery_id IN (SELECT id FROM deliveries WHERE event_id = ANY($1::text[]))",
          [ids],
        );
        const deliveries = await counted(tx, "DELETE FROM deliveries WHERE event_id = ANY($1::text[])", [ids]);
        const events = await counted(tx, "DELETE FROM events WHERE id = ANY($1::text[])", [ids]);
        return { events, deliveries, attempts };
      });
    },
    async clearIdempotencyKeys(before: number, limit: number): Promise<number> {
      return counted(
        client,
        `UPDATE events SET idempotency_key = NULL WHERE id IN (
           SELECT id FROM events WHERE id < $1 AND idempotency_key IS NOT NULL ORDER BY id LIMIT $2)`,
        [idBoundary("evt", before), limit],
      );
    },
    async prunePayloads(before: number, limit: number): Promise<number> {
      return client.transaction(async (tx) => {
        const first = await tx.query<{ id: string }>(PRUNABLE, [idBoundary("evt", before), limit]);
        if (first.length === 0) return 0;
        const ids = await stillFinished(
          tx,
          first.map((r) => r.id),
          "SHARE",
        );
        if (ids.length === 0) return 0;
        return counted(tx, "UPDATE events SET payload = '' WHERE id = ANY($1::text[]) AND payload <> ''", [ids]);
      });
    },
  };
}
