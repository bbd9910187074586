// Online backups (`hookline backup`) and compaction (`hookline vacuum`) of the SQLite file: the
// checks around them, the `.partial` file and its move into place, progress and results. The
// statements themselves run in a worker (file-job.ts).
import { closeSync, existsSync, fsyncSync, linkSync, openSync, renameSync, statSync, unlinkSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { runJob } from "./file-job.ts";

/** A refusal or failure with the exit code the CLI should use (2: refused, 1: failed). */
export class DatabaseFileError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = "DatabaseFileError";
  }
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function fsyncPath(path: string): void {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } catch {
    // Some file systems (and directories on some platforms) refuse fsync; nothing more to do.
  } finally {
    closeSync(fd);
  }
}

function removeFile(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone.
  }
}

/** The rollback journal (and WAL files, in case) SQLite may leave beside an interrupted file. */
function removeSideFiles(path: string): void {
  for (const suffix of ["-journal", "-wal", "-shm"]) removeFile(`${path}${suffix}`);
}

function isBusy(code: string | undefined, message: string): boolean {
  return (code ?? "").startsWith("SQLITE_BUSY") || (code ?? "").startsWith("SQLITE_LOCKED") || /database is locked/i.test(message);
}

export interface FileProgress {
  phase: "copying" | "checking" | "vacuuming";
  /** Bytes written so far (of the copy, or of the WAL while vacuuming). */
  bytes: number;
  /** Expected bytes (used pages × page size of the source). */
  total: number;
}

export interface BackupOptions {
  /** The live database (database.path). */
  source: string;
  /** Where the copy goes; must not exist. `<target>.partial` is written first. */
  target: string;
  busyTimeoutMs: number;
  onProgress?: (progress: FileProgress) => void;
  pollMs?: number;
  /** Aborting stops the copy and removes `<target>.partial`. */
  signal?: AbortSignal;
}

export interface BackupResult {
  target: string;
  bytes: number;
  events: number;
  deliveries: number;
  elapsedMs: number;
  worker: boolean;
}

/**
 * A consistent online copy of the database: `VACUUM INTO` on its own connection (one read
 * transaction, so writers keep going), written to `<target>.partial`, checked with
 * `PRAGMA integrity_check`, synced, then moved to `target`. Never overwrites `target`.
 */
export async function backupDatabase(opts: BackupOptions): Promise<BackupResult> {
  const started = performance.now();
  const source = resolve(opts.source);
  const target = resolve(opts.target);
  const partial = `${target}.partial`;
  if (opts.source === ":memory:" || !existsSync(source)) {
    throw new DatabaseFileError(`no database at ${source}`, 1);
  }
  if (existsSync(target)) throw new DatabaseFileError(`${target} already exists: refusing to overwrite it`, 2);
  const folder = dirname(target);
  if (!existsSync(folder) || !statSync(folder).isDirectory()) {
    throw new DatabaseFileError(`the folder ${folder} does not exist`, 2);
  }
  // Claim the .partial name atomically: an existing one is another backup in progress, or one
  // that was interrupted. VACUUM INTO accepts an existing empty file.
  try {
    closeSync(openSync(partial, "wx", 0o600));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") {
      throw new DatabaseFileError(
        `${partial} exists: another backup is running, or one was interrupted (then delete it and try again)`,
        2,
      );
    }
    throw new DatabaseFileError(`cannot create ${partial}: ${(err as Error).message}`, 2);
  }
  // A journal of an interrupted copy would be "hot" for the new file: SQLite would replay it.
  removeSideFiles(partial);

  let phase: FileProgress["phase"] = "copying";
  let total = 0;
  const report = () => opts.onProgress?.({ phase, bytes: fileSize(partial), total });
  const timer = opts.onProgress ? setInterval(report, opts.pollMs ?? 200) : undefined;
  let moved = false;
  try {
    const { done, worker } = await runJob(
      { kind: "backup", source, target: partial, busyTimeoutMs: opts.busyTimeoutMs },
      (m) => {
        if (m.type === "started") total = m.total;
        if (m.type === "checking") phase = "checking";
        report();
      },
      opts.signal,
    );
    if (!done.ok) {
      const hint = isBusy(done.code, done.message) ? " (the database stayed locked longer than database.busy_timeout)" : "";
      throw new DatabaseFileError(`the backup failed: ${done.message}${hint}; nothing was written to ${target}`, 1);
    }
    if (done.problems.length > 0) {
      throw new DatabaseFileError(
        `the copy failed its integrity check, so it was discarded and nothing was written to ${target}:\n  ${done.problems.slice(0, 10).join("\n  ")}`,
        1,
      );
    }
    // Durable before it gets its real name, so the name never points at a half-written file.
    fsyncPath(partial);
    try {
      // A hard link fails if the target appeared meanwhile (rename would replace it).
      linkSync(partial, target);
      unlinkSync(partial);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "EEXIST") throw new DatabaseFileError(`${target} already exists: refusing to overwrite it`, 2);
      // File systems without hard links.
      if (existsSync(target)) throw new DatabaseFileError(`${target} already exists: refusing to overwrite it`, 2);
      renameSync(partial, target);
    }
    moved = true;
    fsyncPath(folder);
    return {
      target,
      bytes: fileSize(target),
      events: done.events,
      deliveries: done.deliveries,
      elapsedMs: performance.now() - started,
      worker,
    };
  } finally {
    if (timer) clearInterval(timer);
    if (!moved) {
      removeFile(partial);
      removeSideFiles(partial);
    }
  }
}

export interface FileSizes {
  /** The main database file. */
  db: number;
  /** Its write-ahead log (0 when there is none). */
  wal: number;
}

export function databaseFileSizes(path: string): FileSizes {
  return { db: fileSize(path), wal: fileSize(`${path}-wal`) };
}

export interface VacuumOptions {
  path: string;
  busyTimeoutMs: number;
  onProgress?: (progress: FileProgress) => void;
  pollMs?: number;
}

export interface VacuumResult {
  before: FileSizes;
  after: FileSizes;
  elapsedMs: number;
  worker: boolean;
  /** The final checkpoint could not empty the WAL: another process has the database open. */
  walBusy: boolean;
}

/**
 * `PRAGMA wal_checkpoint(TRUNCATE)`, `VACUUM`, and a final checkpoint so the file shrinks now.
 * VACUUM holds the write lock throughout: with the server running, each waits for the other
 * up to its busy_timeout.
 */
export async function vacuumDatabase(opts: VacuumOptions): Promise<VacuumResult> {
  const started = performance.now();
  const path = resolve(opts.path);
  if (opts.path === ":memory:" || !existsSync(path)) throw new DatabaseFileError(`no database at ${path}`, 1);
  const before = databaseFileSizes(path);
  let total = 0;
  const report = () => opts.onProgress?.({ phase: "vacuuming", bytes: fileSize(`${path}-wal`), total });
  const timer = opts.onProgress ? setInterval(report, opts.pollMs ?? 200) : undefined;
  try {
    const { done, worker } = await runJob({ kind: "vacuum", path, busyTimeoutMs: opts.busyTimeoutMs }, (m) => {
      if (m.type === "started") total = m.total;
      report();
    });
    if (!done.ok) {
      const hint = isBusy(done.code, done.message)
        ? ` (another process, probably a running Hookline, held the database longer than database.busy_timeout: stop it and run vacuum again)`
        : "";
      throw new DatabaseFileError(`vacuum of ${basename(path)} failed: ${done.message}${hint}`, 1);
    }
    return { before, after: databaseFileSizes(path), elapsedMs: performance.now() - started, worker, walBusy: done.walBusy };
  } finally {
    if (timer) clearInterval(timer);
  }
}
