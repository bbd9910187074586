// The stores the contract suite runs against: each factory opens a fresh, migrated store of its
// kind and says how to close it. The suite itself knows only the `Store` port; a new store (the
// PostgreSQL one, next issue) joins by adding its factory here.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULTS } from "../../src/config/defaults.ts";
import type { Config } from "../../src/config/types.ts";
import { openStore } from "../../src/db/open-store.ts";
import type { Store } from "../../src/domain/store.ts";

export interface OpenedStore {
  store: Store;
  /** Closes the store and removes whatever it created (its files, its database). */
  close(): Promise<void>;
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
      const opened = await openStore(configIn(dir), { purpose });
      return {
        store: opened.store,
        async close() {
          await opened.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  };
}

export const STORE_FACTORIES: readonly StoreFactory[] = [sqliteFactory("serve"), sqliteFactory("tool")];
