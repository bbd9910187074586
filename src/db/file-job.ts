// The long SQLite statements of `hookline backup` (VACUUM INTO) and `hookline vacuum` (VACUUM),
// run on their own connection in a Bun Worker so the calling thread stays free to report
// progress (backup.ts polls the size of the file being written). The worker's code is
// `runFileJob` below, turned into source text and started from a Blob URL: a worker module file
// would have to be an extra entrypoint of `bun build --compile` to exist inside the single
// binary, a Blob needs nothing. `runFileJob` must therefore stay self-contained: it may use only
// its parameters and globals, nothing imported or declared elsewhere in this module. If a worker
// cannot start, the job runs inline (same code, no live progress).
import { Database } from "bun:sqlite";

export type JobInput =
  | { kind: "backup"; source: string; target: string; busyTimeoutMs: number }
  | { kind: "vacuum"; path: string; busyTimeoutMs: number };

export type JobMessage =
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

export interface JobRun {
  /** The final message. */
  done: Extract<JobMessage, { type: "done" }>;
  /** Whether it ran in a worker (false: inline, after a worker failed to start). */
  worker: boolean;
}

/**
 * Runs the job in a worker, passing "started"/"checking" messages to `onMessage`. Falls back to
 * running it inline when no worker can be started. `signal` terminates the worker.
 */
export function runJob(input: JobInput, onMessage: (message: JobMessage) => void, signal?: AbortSignal): Promise<JobRun> {
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
