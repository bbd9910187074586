// What opening a store gives and takes, whichever store it is: the SQLite open (open-store.ts)
// and the PostgreSQL one (pg/open.ts) both answer with these, so neither imports the other's
// module for its types.
import type { Store } from "../domain/store.ts";
import type { Logger } from "../observability/logger.ts";
import type { ExposedPath } from "./files.ts";
import type { StoredSecrets } from "./secrets-migration.ts";

/** How webhook secrets are stored, for the start-up warning. */
export interface SecretsAtRest extends StoredSecrets {
  /** security.encryption_key is set. */
  keyConfigured: boolean;
}

/** A data folder or database file that group or others may access. */
export interface ExposedFile extends ExposedPath {
  /** The mode to suggest: 0o600 for the file, 0o700 for its folder. */
  suggested: number;
}

export interface OpenedStore {
  store: Store;
  kind: "sqlite" | "postgres";
  /** Where the data is, as logs and the CLI may show it: the file's path, or the URL without its password. */
  location: string;
  /** Checked when opened for "serve"; undefined for a "tool" (see OpenStoreOptions). */
  secretsAtRest: SecretsAtRest | undefined;
  /** Migrations this open applied (0: the schema was current). */
  migrationsApplied: number;
  /**
   * The data folder and the database file when others may read them (only what Hookline creates
   * is made owner-only; an existing one is the operator's): serve warns about them. Empty for a
   * store not kept in local files.
   */
  exposed: ExposedFile[];
  /** Ingests queued drain, the writer stops, the connections close. Idempotent. */
  close(): Promise<void>;
}

export interface OpenStoreOptions {
  /**
   * "serve" (the default): the hot-path writes on a writer thread of their own, and a database
   * whose encrypted secrets the key cannot read (no key, another key) is refused with a
   * SecretKeyError before anything is sent. "tool": a CLI command beside a running server
   * (`keys`): one connection in this thread, and the secrets are not looked at (it never reads
   * them, and must work in a shell without the key).
   */
  purpose?: "serve" | "tool";
  /**
   * Where the loss of the writer thread is said (it is replaced a second later), and, for
   * "serve" on PostgreSQL, each try to reach a server not reachable yet (a tool says it on
   * stderr, and gives up after a few seconds: pg/connect.ts).
   */
  logger?: Pick<Logger, "error" | "warn">;
}
