// The stores the contract suite runs against: each factory opens a fresh, migrated store of its
// kind and says how to close it. The suite itself knows only the `Store` port; a new store (the
// PostgreSQL one, next issue) joins by adding its factory here.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULTS } from "../../src/config/defaults.ts";
import type { Config } from "../../src/config/types.ts";
import { checkStoredSecrets } from "../../src/db/secrets-migration.ts";
import { createSqliteStore } from "../../src/db/sqlite-store.ts";
import { localWriter } from "../../src/db/writer/ops.ts";
import { startWriterThread } from "../../src/db/writer/thread.ts";
import { createSecretBox } from "../../src/domain/secret-box.ts";
import type { Store } from "../../src/domain/store.ts";
import { openMigrated } from "../../src/db/open.ts";

export interface OpenedStore {
  store: Store;
  /** Closes the store and removes whatever it created (its files, its database). */
  close(): Promise<void>;
}

export interface StoreFactory {
  name: string;
  open(): Promise<OpenedStore>;
}

/** A config for a database file in a fresh temp folder, otherwise the defaults. */
function configIn(dir: string): Config {
  const config = structuredClone(DEFAULTS) as Config;
  config.database.path = join(dir, "hookline.db");
  return config;
}

/**
 * SQLite on a temp file, opened as the server opens it (createRuntime): migrated, the stored
 * secrets checked, the hot-path writes on `writer` ("thread": the writer thread production
 * runs; "local": on the main connection, as for an in-memory database and the CLI).
 */
function sqliteFactory(writer: "thread" | "local"): StoreFactory {
  return {
    name: `sqlite (${writer} writer)`,
    async open() {
      const dir = mkdtempSync(join(tmpdir(), "hookline-contract-"));
      const config = configIn(dir);
      const { sqlite } = openMigrated(config);
      const secrets = createSecretBox(config.security.encryption_key);
      checkStoredSecrets(sqlite, secrets);
      const store = createSqliteStore(sqlite, {
        secrets,
        writer:
          writer === "local"
            ? localWriter(sqlite, secrets)
            : startWriterThread({
                path: config.database.path,
                synchronous: config.database.synchronous,
                busyTimeoutMs: config.database.busy_timeout,
                encryptionKey: config.security.encryption_key,
              }),
      });
      return {
        store,
        async close() {
          await store.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  };
}

export const STORE_FACTORIES: readonly StoreFactory[] = [sqliteFactory("thread"), sqliteFactory("local")];
