import type { Database } from "bun:sqlite";
import { drizzle } from "drizzle-orm/bun-sqlite";
import { StorageUnavailableError } from "../domain/errors.ts";
import { createSecretBox, type SecretBox } from "../domain/secret-box.ts";
import type { Store } from "../domain/store.ts";
import * as schema from "./schema/index.ts";
import { deliveryQueries } from "./store/deliveries.ts";
import { claimQueries } from "./store/claims.ts";
import { subscriberCache } from "./store/cache.ts";
import { relaxedWrites } from "./store/relaxed.ts";
import { dispatchQueries } from "./store/dispatch.ts";
import { eventTypeQueries } from "./store/event-types.ts";
import { ingestQueries, ingestStatements, operationalEmitter } from "./store/ingest.ts";
import { keyQueries } from "./store/keys.ts";
import { maintenanceQueries } from "./store/maintenance.ts";
import { statsQueries } from "./store/stats.ts";
import { storageProblem } from "./store/sqlite-errors.ts";
import { webhookQueries } from "./store/webhooks.ts";

/**
 * The SQLite implementation of the store seam. Each method runs synchronous calls (bun:sqlite
 * has no async API) and is async only to honour the interface. Management paths use drizzle;
 * the hot paths (ingest, claim, outcomes) use prepared statements.
 */
export interface SqliteStoreOptions {
  /**
   * Encrypts webhook secrets on every write and decrypts them on every read (plaintext rows of
   * a database not yet migrated are read as they are). Default: no key, secrets in plaintext.
   */
  secrets?: SecretBox;
}

export function createSqliteStore(sqlite: Database, opts: SqliteStoreOptions = {}): Store {
  const db = drizzle(sqlite, { schema });
  const secrets = opts.secrets ?? createSecretBox(undefined);
  // Fan-out targets per tenant; every webhook write below clears it.
  const subscribers = subscriberCache();
  const changed = () => subscribers.clear();
  const { ingest, drainIngests } = ingestQueries(sqlite, secrets, subscribers);
  const relaxed = relaxedWrites(sqlite);
  return translateStorageErrors({
    ...keyQueries(db),
    ...eventTypeQueries(db),
    ...webhookQueries(db, secrets, changed),
    ingest,
    ...deliveryQueries(sqlite, secrets, changed),
    ...claimQueries(sqlite, secrets, relaxed, subscribers),
    ...dispatchQueries(sqlite, operationalEmitter(ingestStatements(sqlite, secrets, subscribers)), relaxed, changed),
    ...maintenanceQueries(sqlite),
    ...statsQueries(sqlite),
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
      drainIngests();
      sqlite.close();
    },
  });
}

/**
 * A full disk or an unwritable file is the storage's condition, not a bug: callers get a
 * StorageUnavailableError (503 + Retry-After) and the process keeps running.
 */
function translateStorageErrors(store: Store): Store {
  const wrapped = {} as Record<string, unknown>;
  for (const [name, fn] of Object.entries(store) as [string, (...args: unknown[]) => Promise<unknown>][]) {
    wrapped[name] = async (...args: unknown[]) => {
      try {
        return await fn(...args);
      } catch (err) {
        const problem = storageProblem(err);
        if (problem) throw new StorageUnavailableError(problem);
        throw err;
      }
    };
  }
  return wrapped as unknown as Store;
}
