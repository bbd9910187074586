import { Database } from "bun:sqlite";
import type { Config, Synchronous } from "../config/types.ts";
import { prepareDatabaseFile } from "./files.ts";
import { applyMigrations } from "./migrate.ts";

export interface OpenOptions {
  path: string;
  synchronous: Synchronous;
  busyTimeoutMs: number;
}

/**
 * Opens a connection (the main thread's, or the writer thread's). WAL lets readers run beside the writer;
 * synchronous=FULL (the default) makes a committed 202 survive power loss, NORMAL only a crash.
 */
export function openDatabase(opts: OpenOptions): Database {
  // A new folder 0700 and a new file 0600 (its -wal and -shm take the file's mode), whatever
  // the umask; an existing folder or file keeps the mode its owner gave it.
  prepareDatabaseFile(opts.path);
  const sqlite = new Database(opts.path, { create: true, strict: true });
  // First: the pragmas below may need a lock another connection (the writer thread's, or the
  // main thread's when this is the writer) holds for a moment.
  sqlite.run(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(opts.busyTimeoutMs))}`);
  // Takes effect only on a new, empty file (before the first table): retention can then give
  // freed pages back to the file system a few at a time (incremental_vacuum in the sweep)
  // instead of needing a blocking VACUUM. `hookline vacuum` converts an older file.
  sqlite.run("PRAGMA auto_vacuum = INCREMENTAL");
  sqlite.run("PRAGMA journal_mode = WAL");
  sqlite.run(`PRAGMA synchronous = ${opts.synchronous === "normal" ? "NORMAL" : "FULL"}`);
  sqlite.run("PRAGMA foreign_keys = ON");
  // The default 2 MB page cache is smaller than the hot indexes of a busy outbox; 32 MB keeps
  // them in memory (it is a bound, not an allocation).
  sqlite.run("PRAGMA cache_size = -32768");
  sqlite.run("PRAGMA temp_store = MEMORY");
  return sqlite;
}

/**
 * The configured database, open and migrated: for the SQLite tools (`migrate`, `secrets
 * encrypt`) and tests that look at the file. The connection is the caller's to close; a
 * failed migration closes it.
 */
export function openMigrated(config: Config): { sqlite: Database; applied: number } {
  const sqlite = openDatabase({
    path: config.database.path,
    synchronous: config.database.synchronous,
    busyTimeoutMs: config.database.busy_timeout,
  });
  try {
    return { sqlite, applied: applyMigrations(sqlite).applied };
  } catch (err) {
    sqlite.close();
    throw err;
  }
}

/** `hookline migrate`: brings the schema up to date; how many migrations it applied. */
export function migrateDatabase(config: Config): number {
  const { sqlite, applied } = openMigrated(config);
  sqlite.close();
  return applied;
}
