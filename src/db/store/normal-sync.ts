import type { Database } from "bun:sqlite";

/**
 * Runs a write with synchronous = NORMAL when the database is configured FULL. For claims and
 * attempt records only: losing the last of them to a power cut means a delivery is sent once
 * more, which at-least-once delivery allows. Their WAL frames are still written at once, and the
 * next FULL commit (an ingest: the 202 promise) syncs them along with its own. Ingests never use
 * this.
 */
export function normalSyncWrites(sqlite: Database): <T>(write: () => T) => T {
  const full = (sqlite.query<{ synchronous: number }, []>("PRAGMA synchronous").get()?.synchronous ?? 0) >= 2;
  if (!full) return (write) => write();
  return (write) => {
    sqlite.run("PRAGMA synchronous = NORMAL");
    try {
      return write();
    } finally {
      sqlite.run("PRAGMA synchronous = FULL");
    }
  };
}
