// One way to open a store (DESIGN.md "Storage seam"). `openStore(config)` picks the store from
// the config — PostgreSQL when database.url is set (pg/open.ts: connect, waiting for a server
// not reachable yet, migrations, the secrets check), else SQLite at database.path — and owns
// what opening it takes: for SQLite the file (pragmas, owner-only modes: open.ts), the schema
// (migrate.ts), the writer thread (writer/thread.ts) and the check that the configured key reads
// the stored secrets. The runtime, the server and the CLI get the `Store` port and how to close it, nothing
// SQLite-typed. `openSqliteStore` is the same open with the SQLite handles left on, for tests
// that inspect the file and for the store-contract factories.
//
// The instance lock (one server per database file) is not taken here: `serve` takes it before
// it checks its port, and both before anything touches the database (server.ts). PostgreSQL has
// none: several replicas on one database are what it is for.
import type { Database } from "bun:sqlite";
import { dirname, resolve } from "node:path";
import type { Config } from "../config/types.ts";
import { createSecretBox } from "../domain/secret-box.ts";
import type { Logger } from "../observability/logger.ts";
import { exposed, isDatabaseFile } from "./files.ts";
import type { ExposedFile, OpenedStore, OpenStoreOptions } from "./opened-store.ts";
import { openMigrated } from "./open.ts";
import { checkStoredSecrets, type StoredSecrets } from "./secrets-migration.ts";
import { createSqliteStore } from "./sqlite-store.ts";
import { localWriter, type Writer } from "./writer/ops.ts";
import { startWriterThread } from "./writer/thread.ts";

export type { ExposedFile, OpenedStore, OpenStoreOptions, SecretsAtRest } from "./opened-store.ts";


export async function openStore(config: Config, opts: OpenStoreOptions = {}): Promise<OpenedStore> {
  const url = config.database.url;
  if (url !== undefined && url !== "") {
    // Loaded only when used: a SQLite install never loads the PostgreSQL store.
    const { openPostgresStore } = await import("./pg/open.ts");
    return openPostgresStore(config, url, opts);
  }
  const tool = opts.purpose === "tool";
  const { sqlite: _sqlite, writer: _writer, ...opened } = openSqliteStore(config, {
    writer: tool ? "local" : "thread",
    checkSecrets: !tool,
    ...(opts.logger ? { logger: opts.logger } : {}),
  });
  return opened;
}

export interface SqliteOpenOptions {
  /**
   * Where the hot-path writes run: "thread" (the default), a writer thread with its own
   * connection; "local", this thread's connection. An in-memory database is always "local" (a
   * second connection would be another, empty database).
   */
  writer?: "thread" | "local";
  /** Refuse a database whose encrypted secrets the key cannot read (default true). */
  checkSecrets?: boolean;
  logger?: Pick<Logger, "error" | "warn">;
}

/** SQLite only: the opened store with its handles, for tests and tools that look at the file. */
export interface SqliteOpenedStore extends OpenedStore {
  /** The main thread's connection (reads and management writes); the store closes it. */
  sqlite: Database;
  /** Where the hot-path writes run (the writer thread, or `sqlite`); the store closes it. */
  writer: Writer;
}

export function openSqliteStore(config: Config, opts: SqliteOpenOptions = {}): SqliteOpenedStore {
  const path = config.database.path;
  const { sqlite, applied } = openMigrated(config);
  const secrets = createSecretBox(config.security.encryption_key);
  // Secrets are encrypted at rest when security.encryption_key is set. A database whose secrets
  // the key cannot read is refused here, before a writer starts or anything is sent.
  let stored: StoredSecrets | undefined;
  try {
    if (opts.checkSecrets !== false) stored = checkStoredSecrets(sqlite, secrets);
  } catch (err) {
    sqlite.close();
    throw err;
  }
  const logger = opts.logger;
  const writer =
    path === ":memory:" || path === "" || opts.writer === "local"
      ? localWriter(sqlite, secrets)
      : startWriterThread(
          {
            path,
            synchronous: config.database.synchronous,
            busyTimeoutMs: config.database.busy_timeout,
            encryptionKey: config.security.encryption_key,
          },
          (why) => logger?.error({ why }, "the database writer thread was lost; writes answer 503 until it is replaced (in 1 s)"),
        );
  const store = createSqliteStore(sqlite, { secrets, writer });
  let closing: Promise<void> | undefined;
  return {
    store,
    kind: "sqlite",
    location: path,
    sqlite,
    writer,
    secretsAtRest: stored && { ...stored, keyConfigured: secrets.enabled },
    migrationsApplied: applied,
    exposed: exposedFiles(path),
    close: () => (closing ??= store.close()),
  };
}

function exposedFiles(path: string): ExposedFile[] {
  if (!isDatabaseFile(path)) return [];
  const file = resolve(path);
  return exposed([dirname(file), file]).map((p) => ({ ...p, suggested: p.path === file ? 0o600 : 0o700 }));
}
