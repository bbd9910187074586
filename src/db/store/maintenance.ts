import type { Database } from "bun:sqlite";
import { idBoundary } from "../../lib/ids.ts";
import type { PurgedRows } from "../../domain/store.ts";

const STATS_ROWS_PER_EVENT = 20;

/** Retention and housekeeping, always in bounded batches so no transaction runs long. */
export function maintenanceQueries(sqlite: Database) {
  // Ids are time-sortable, so "created before" is a primary-key range scan.
  const purgeable = sqlite.query<{ id: string }, [string, number]>(
    `SELECT e.id FROM events e WHERE e.id < ?1
       AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND d.status IN ('pending', 'delivering'))
     LIMIT ?2`,
  );
  // Children first, each statement on its own: SQLite's change count leaves out rows removed by
  // ON DELETE CASCADE, and the sweep reports how many deliveries and attempts went.
  const purgeAttempts = sqlite.query<unknown, [string]>(
    `DELETE FROM attempts WHERE delivery_id IN (
       SELECT d.id FROM deliveries d WHERE d.event_id IN (SELECT value FROM json_each(?1)))`,
  );
  const purgeDeliveries = sqlite.query<unknown, [string]>(
    "DELETE FROM deliveries WHERE event_id IN (SELECT value FROM json_each(?1))",
  );
  const purgeEvents = sqlite.query<unknown, [string]>("DELETE FROM events WHERE id IN (SELECT value FROM json_each(?1))");
  // The stats roll-up follows retention, a minute's rows at a time.
  const purgeStats = sqlite.query<unknown, [number, number]>(
    "DELETE FROM attempt_stats WHERE rowid IN (SELECT rowid FROM attempt_stats WHERE minute < ?1 LIMIT ?2)",
  );
  const clearKeys = sqlite.query<{ id: string }, [string, number]>(
    `UPDATE events SET idempotency_key = NULL WHERE id IN (
       SELECT id FROM events WHERE id < ?1 AND idempotency_key IS NOT NULL LIMIT ?2) RETURNING id`,
  );
  const prune = sqlite.query<{ id: string }, [string, number]>(
    `UPDATE events SET payload = '' WHERE id IN (
       SELECT e.id FROM events e WHERE e.id < ?1 AND e.payload <> ''
         AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND d.status IN ('pending', 'delivering'))
       LIMIT ?2) RETURNING id`,
  );
  return {
    async prunePayloads(before: number, limit: number): Promise<number> {
      return sqlite.transaction(() => prune.all(idBoundary("evt", before), limit).length).immediate();
    },
    async reclaimSpace(maxPages: number): Promise<number> {
      const free = (sqlite.query<{ freelist_count: number }, []>("PRAGMA freelist_count").get()?.freelist_count ?? 0);
      const mode = sqlite.query<{ auto_vacuum: number }, []>("PRAGMA auto_vacuum").get()?.auto_vacuum;
      // 2 = INCREMENTAL; a file created before it was set needs `hookline vacuum` once.
      if (free === 0 || mode !== 2) return 0;
      sqlite.run(`PRAGMA incremental_vacuum(${Math.max(1, Math.floor(maxPages))})`);
      const left = sqlite.query<{ freelist_count: number }, []>("PRAGMA freelist_count").get()?.freelist_count ?? 0;
      return free - left;
    },
    async purgeFinished(before: number, limit: number): Promise<PurgedRows> {
      return sqlite
        .transaction((): PurgedRows => {
          // A row per webhook and minute: more of them per batch than events.
          purgeStats.run(before, limit * STATS_ROWS_PER_EVENT);
          const ids = purgeable.all(idBoundary("evt", before), limit).map((r) => r.id);
          if (ids.length === 0) return { events: 0, deliveries: 0, attempts: 0 };
          const list = JSON.stringify(ids);
          const attempts = purgeAttempts.run(list).changes;
          const deliveries = purgeDeliveries.run(list).changes;
          return { events: purgeEvents.run(list).changes, deliveries, attempts };
        })
        .immediate();
    },
    async clearIdempotencyKeys(before: number, limit: number): Promise<number> {
      return clearKeys.all(idBoundary("evt", before), limit).length;
    },
  };
}
