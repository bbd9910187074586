import type { Database } from "bun:sqlite";
import { drizzle } from "drizzle-orm/bun-sqlite";
import type { Store } from "../domain/store.ts";
import * as schema from "./schema/index.ts";
import { eventTypeQueries } from "./store/event-types.ts";
import { keyQueries } from "./store/keys.ts";
import { webhookQueries } from "./store/webhooks.ts";

/**
 * The SQLite implementation of the store seam. Each method runs synchronous drizzle calls
 * (bun:sqlite has no async API) and is async only to honour the interface.
 */
export function createSqliteStore(sqlite: Database): Store {
  const db = drizzle(sqlite, { schema });
  return {
    ...keyQueries(db),
    ...eventTypeQueries(db),
    ...webhookQueries(db),
    async ping(): Promise<boolean> {
      try {
        // BEGIN IMMEDIATE takes the write lock: proves the file is writable, writes nothing.
        sqlite.run("BEGIN IMMEDIATE");
        sqlite.run("ROLLBACK");
        return true;
      } catch {
        return false;
      }
    },
    async close(): Promise<void> {
      sqlite.close();
    },
  };
}
