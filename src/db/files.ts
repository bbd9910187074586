// The data folder and the files Hookline creates in it hold signing secrets, key hashes and the
// first admin key: owner-only, whatever the umask. The mode is set explicitly after creating
// (a umask can only take bits away, but one that takes the owner's would break us too).
import { chmodSync, closeSync, existsSync, fchmodSync, mkdirSync, openSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";

export const FOLDER_MODE = 0o700;
export const FILE_MODE = 0o600;

/**
 * Creates `dir` (and missing parents) owner-only. A folder that already exists is the
 * operator's: its mode is left as it is (see `exposed`, which the server warns about).
 */
export function ensurePrivateFolder(dir: string): void {
  if (existsSync(dir)) return;
  mkdirSync(dir, { recursive: true, mode: FOLDER_MODE });
  chmodSync(dir, FOLDER_MODE);
}

/**
 * Creates an empty `path` owner-only if it does not exist (O_EXCL: never truncates or follows a
 * link planted there). Returns whether this call created it. Only for a file this process has
 * not opened otherwise: SQLite's locks are POSIX locks, which closing any descriptor of the file
 * would drop, so an existing file is never opened here.
 */
export function createPrivateFile(path: string): boolean {
  if (existsSync(path)) return false;
  let fd: number;
  try {
    fd = openSync(path, "wx", FILE_MODE);
  } catch (err) {
    // Another process created it in between: fine.
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  }
  try {
    fchmodSync(fd, FILE_MODE);
  } finally {
    closeSync(fd);
  }
  return true;
}

/** Whether a database path names a file (not `:memory:`, nor a `file:` URI SQLite resolves itself). */
export function isDatabaseFile(path: string): boolean {
  return !(path === ":memory:" || path === "" || path.startsWith("file:"));
}

/**
 * The database's folder and file, for a SQLite path: the folder created owner-only if missing,
 * the file created 0600 if missing. SQLite creates `-wal` and `-shm` with the database file's
 * mode, so they are 0600 too.
 */
export function prepareDatabaseFile(path: string): void {
  if (!isDatabaseFile(path)) return;
  ensurePrivateFolder(dirname(resolve(path)));
  createPrivateFile(path);
}

export interface ExposedPath {
  path: string;
  /** Permission bits, e.g. 0o755. */
  mode: number;
}

/** The given paths that exist and that group or others may read, write or enter. */
export function exposed(paths: string[]): ExposedPath[] {
  const out: ExposedPath[] = [];
  for (const path of paths) {
    try {
      const mode = statSync(path).mode & 0o777;
      if ((mode & 0o077) !== 0) out.push({ path, mode });
    } catch {
      // Not there: nothing to say.
    }
  }
  return out;
}

/** "0755", for messages. */
export function octal(mode: number): string {
  return `0${mode.toString(8).padStart(3, "0")}`;
}
