// One Hookline per database: `serve` (and `vacuum`, which must not run beside it) hold an
// exclusive lock on a small file beside the database, `<database.path>.lock`.
//
// Why a SQLite database as the lock: Bun has no flock(), and bun:ffi would tie the binary to
// one libc. SQLite's own file locks are POSIX record locks, which the kernel drops when the
// process ends in any way (kill -9, a crash, the OOM killer): no stale lock to clean up, no pid
// file to second-guess. `locking_mode = EXCLUSIVE` keeps the lock once `BEGIN EXCLUSIVE` took
// it, until the connection closes; `journal_mode = MEMORY` leaves no side file (OFF has no effect
// under bun:sqlite). It works the same inside `bun build --compile`. The database
// itself is not locked: backup, doctor, keys and secrets encrypt open it beside a running
// server, as documented.
import { Database } from "bun:sqlite";
import { dirname, resolve } from "node:path";
import { createPrivateFile, ensurePrivateFolder, isDatabaseFile } from "./files.ts";

export class InstanceLockedError extends Error {
  constructor(
    readonly database: string,
    readonly lockFile: string,
  ) {
    super(`${database} is in use by another Hookline (it holds ${lockFile})`);
    this.name = "InstanceLockedError";
  }
}

export interface InstanceLock {
  /** The lock file. */
  file: string;
  /** Gives the lock back (closing its connection); idempotent. */
  release(): void;
}

// The lock connections of this process. Referenced here so the garbage collector never
// finalises one (bun:sqlite closes an unreachable Database, which would drop its lock).
const held = new Set<Database>();

/** `<database>.lock`, absolute; undefined for an in-memory database (nothing to share). */
export function lockFileFor(databasePath: string): string | undefined {
  if (!isDatabaseFile(databasePath)) return undefined;
  return `${resolve(databasePath)}.lock`;
}

/**
 * Takes the lock of `databasePath` at once, or throws InstanceLockedError when another process
 * (or another holder in this one) has it. Creates the folder (0700) and the lock file (0600)
 * when they are missing; undefined for an in-memory database.
 */
export function acquireInstanceLock(databasePath: string): InstanceLock | undefined {
  const file = lockFileFor(databasePath);
  if (file === undefined) return undefined;
  ensurePrivateFolder(dirname(file));
  createPrivateFile(file);
  const lock = new Database(file, { create: true });
  try {
    lock.run("PRAGMA busy_timeout = 0");
    lock.run("PRAGMA locking_mode = EXCLUSIVE");
    lock.run("PRAGMA journal_mode = MEMORY");
    lock.run("BEGIN EXCLUSIVE");
    lock.run("COMMIT");
  } catch (err) {
    lock.close();
    const code = (err as { code?: unknown }).code;
    if (typeof code === "string" && (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED"))) {
      throw new InstanceLockedError(resolve(databasePath), file);
    }
    throw err;
  }
  held.add(lock);
  return {
    file,
    release() {
      if (held.delete(lock)) lock.close();
    },
  };
}
