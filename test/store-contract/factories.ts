// The stores the contract suite runs against: each factory opens a fresh, migrated store of its
// kind and says how to close it. The suite itself knows only the `Store` port; a new store (the
// PostgreSQL one, next issue) joins by adding its factory here.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULTS } from "../../src/config/defaults.ts";
import type { Config } from "../../src/config/types.ts";
import { openStore } from "../../src/db/open-store.ts";
import { connectPostgres } from "../../src/db/pg/client.ts";
import { applyPgMigrations } from "../../src/db/pg/migrate.ts";
import { createPostgresStore } from "../../src/db/pg/store.ts";
import type { Store } from "../../src/domain/store.ts";
import { freshDatabase, POSTGRES_AVAILABLE } from "../support/postgres.ts";

export interface OpenedStore {
  store: Store;
  /** Closes the store and removes whatever it created (its files, its database). */
  close(): Promise<void>;
  /**
   * A restart: closes the store and opens a new one on the same database (`store` is then the
   * new one), as a process started again after a crash or a stop would.
   */
  reopen(): Promise<Store>;
}

export interface StoreFactory {
  name: string;
  open(): Promise<OpenedStore>;
}

/** The default config with its database file in a fresh temp folder. */
function configIn(dir: string): Config {
  const config = structuredClone(DEFAULTS) as Config;
  config.database.path = join(dir, "hookline.db");
  return config;
}

/**
 * SQLite on a temp file, opened by `openStore` exactly as production opens it: for "serve" (the
 * server: migrated, stored secrets checked, hot-path writes on the writer thread) or as a
 * "tool" (the CLI beside a server: every write on the one connection of this thread).
 */
function sqliteFactory(purpose: "serve" | "tool"): StoreFactory {
  return {
    name: purpose === "serve" ? "sqlite (writer thread)" : "sqlite (one connection)",
    async open() {
      const dir = mkdtempSync(join(tmpdir(), "hookline-contract-"));
      let opened = await openStore(configIn(dir), { purpose });
      const handle: OpenedStore = {
        store: opened.store,
        async close() {
          await opened.close();
          rmSync(dir, { recursive: true, force: true });
        },
        async reopen() {
          await opened.close();
          opened = await openStore(configIn(dir), { purpose });
          handle.store = opened.store;
          return opened.store;
        },
      };
      return handle;
    },
  };
}

/**
 * PostgreSQL on a fresh database of the test cluster (test/support/postgres.ts). Leases are
 * taken on the caller's clock here, because the suite passes explicit times; in production they
 * are the database's (test/db/pg-hot-paths.test.ts checks that a fast replica clock steals
 * nothing).
 */
const postgresFactory: StoreFactory = {
  name: "postgres",
  async open() {
    const url = await freshDatabase();
    const client = connectPostgres(url, 10);
    await applyPgMigrations(client);
    const handle: OpenedStore = {
      store: createPostgresStore(client, { leaseClock: "caller", replicaId: "contract" }),
      close: () => handle.store.close(),
      async reopen() {
        await handle.store.close();
        // Another process: another replica id, so nothing this one held counts as its own.
        handle.store = createPostgresStore(connectPostgres(url, 10), { leaseClock: "caller", replicaId: "contract-restarted" });
        return handle.store;
      },
    };
    return handle;
  },
};

// Without PostgreSQL's server binaries the harness has already said so loudly (and fails the
// run under HOOKLINE_REQUIRE_POSTGRES=1, as .ci/run sets).
export const STORE_FACTORIES: readonly StoreFactory[] = [
  sqliteFactory("serve"),
  sqliteFactory("tool"),
  ...(POSTGRES_AVAILABLE ? [postgresFactory] : []),
];
