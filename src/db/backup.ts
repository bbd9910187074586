// Online backups (`hookline backup`) and compaction (`hookline vacuum`) of the SQLite file.
//
// Both are one long synchronous SQLite statement (VACUUM INTO, VACUUM). They run on their own
// connection in a Bun Worker so the calling thread stays free to report progress (it polls the
// size of the file being written). The worker's code is `runFileJob` below, turned into source
// text and started from a Blob URL: a worker module file would have to be an extra entrypoint of
// `bun build --compile` to exist inside the single binary, a Blob needs nothing. `runFileJob`
// must therefore stay self-contained: it may use only its parameters and globals, nothing
// imported or declared elsewhere in this module. If a worker cannot start, the job runs inline
// (same code, no live progress).
import { Database } from "bun:sqlite";
import { closeSync, existsSync, fsyncSync, linkSync, openSync, renameSync, statSync, unlinkSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";

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

type JobInput =
  | { kind: "backup"; source: string; target: string; busyTimeoutMs: number }
  | { kind: "vacuum"; path: string; busyTimeoutMs: number };

type JobMessage =
  /** The job's connection is open; `total` is the expected size in bytes of what it writes. */
  | { type: "started"; total: number }
  | { type: "checking" }
  | {
      type: "done";
      ok: true;
      /** integrity_check lines other than "ok" (backup only). */
      problems: string[];
      events: number;
      deliveries: number;
      walBusy: boolean;
    }
  | { type: "done"; ok: false; message: string; code: string | undefined };

type DatabaseClass = typeof Database;

/**
 * The job itself, run in the worker (or inline). Self-contained on purpose: see the top of the
 * file. `Db` is bun:sqlite's Database, passed in because the worker imports it itself.
 */
function runFileJob(Db: DatabaseClass, input: JobInput, post: (message: JobMessage) => void): void {
  const busy = `PRAGMA busy_timeout = ${Math.max(0, Math.floor(input.busyTimeoutMs))}`;
  const usedBytes = (db: Database): number => {
    const one = (sql: string): number => Number(Object.values(db.query(sql).get() as Record<string, number>)[0] ?? 0);
    return one("PRAGMA page_size") * Math.max(0, one("PRAGMA page_count") - one("PRAGMA freelist_count"));
  };
  try {
    if (input.kind === "backup") {
      // Read-write without create: the source exists (checked), and being a normal connection it
      // leaves no stray -wal/-shm behind when it is the last one to close. It only reads.
      const source = new Db(input.source, { readwrite: true, create: false });
      try {
        source.run(busy);
        post({ type: "started", total: usedBytes(source) });
        // One read transaction: a snapshot of everything committed before it began.
        source.query("VACUUM INTO ?").run(input.target);
      } finally {
        source.close();
      }
      post({ type: "checking" });
      const copy = new Db(input.target, { readonly: true });
      try {
        const problems = copy
          .query("PRAGMA integrity_check")
          .all()
          .map((row) => String(Object.values(row as Record<string, unknown>)[0]))
          .filter((line) => line !== "ok");
        const count = (table: string): number => {
          const exists = copy.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(table);
          if (!exists) return 0;
          return Number((copy.query(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n);
        };
        post({ type: "done", ok: true, problems, events: count("events"), deliveries: count("deliveries"), walBusy: false });
      } finally {
        copy.close();
      }
    } else {
      const db = new Db(input.path, { readwrite: true, create: false });
      try {
        db.run(busy);
        post({ type: "started", total: usedBytes(db) });
        // Empty the WAL into the main file first, then rebuild the file without free pages;
        // in WAL mode the rebuilt pages go through the WAL, so checkpoint again to shrink it.
        db.query("PRAGMA wal_checkpoint(TRUNCATE)").get();
        // VACUUM also converts an older file to incremental auto-vacuum, so that from then on
        // retention gives space back by itself (see sweep).
        db.run("PRAGMA auto_vacuum = INCREMENTAL");
        db.run("VACUUM");
        const cp = db.query("PRAGMA wal_checkpoint(TRUNCATE)").get() as { busy: number } | null;
        post({ type: "done", ok: true, problems: [], events: 0, deliveries: 0, walBusy: cp?.busy === 1 });
      } finally {
        db.close();
      }
    }
  } catch (err) {
    const e = err as { message?: unknown; code?: unknown };
    post({
      type: "done",
      ok: false,
      message: String(e.message ?? err),
      code: typeof e.code === "string" ? e.code : undefined,
    });
  }
}

const WORKER_SOURCE = `import { Database } from "bun:sqlite";
const runFileJob = ${runFileJob.toString()};
self.onmessage = (event) => runFileJob(Database, event.data, (message) => postMessage(message));
`;

interface JobRun {
  /** The final message. */
  done: Extract<JobMessage, { type: "done" }>;
  /** Whether it ran in a worker (false: inline, after a worker failed to start). */
  worker: boolean;
}

/**
 * Runs the job in a worker, passing "started"/"checking" messages to `onMessage`. Falls back to
 * running it inline when no worker can be started. `signal` terminates the worker.
 */
function runJob(input: JobInput, onMessage: (message: JobMessage) => void, signal?: AbortSignal): Promise<JobRun> {
  const inline = (): JobRun => {
    let done: JobRun["done"] | undefined;
    runFileJob(Database, input, (m) => {
      if (m.type === "done") done = m;
      else onMessage(m);
    });
    return { done: done ?? { type: "done", ok: false, message: "the job ended without a result", code: undefined }, worker: false };
  };
  let worker: Worker;
  const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "application/javascript" }));
  try {
    worker = new Worker(url);
  } catch {
    URL.revokeObjectURL(url);
    return Promise.resolve(inline());
  }
  return new Promise<JobRun>((resolvePromise, reject) => {
    let heard = false;
    const finish = () => {
      signal?.removeEventListener("abort", onAbort);
      worker.terminate();
      URL.revokeObjectURL(url);
    };
    const onAbort = () => {
      finish();
      reject(signal?.reason instanceof Error ? signal.reason : new Error("aborted"));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    worker.onmessage = (event: MessageEvent<JobMessage>) => {
      heard = true;
      const m = event.data;
      if (m.type === "done") {
        finish();
        resolvePromise({ done: m, worker: true });
      } else {
        onMessage(m);
      }
    };
    worker.onerror = (event: ErrorEvent) => {
      finish();
      // The worker could not even start (no message yet): do the job here instead.
      if (!heard) {
        try {
          resolvePromise(inline());
        } catch (err) {
          reject(err);
        }
      } else {
        reject(new Error(`the ${input.kind} worker failed: ${event.message}`));
      }
    };
    worker.postMessage(input);
  });
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
