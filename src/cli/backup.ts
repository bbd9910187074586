import { existsSync } from "node:fs";
import { basename, resolve } from "node:path";
import type { Config } from "../config/types.ts";
import { backupDatabase, DatabaseFileError, type FileProgress, vacuumDatabase } from "../db/backup.ts";
import { acquireInstanceLock, type InstanceLock, InstanceLockedError } from "../db/instance-lock.ts";
import { formatFraction, formatMB, progressLine } from "./progress.ts";

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function failed(command: string, err: unknown): number {
  if (err instanceof DatabaseFileError) {
    process.stderr.write(`hookline ${command}: ${err.message}\n`);
    return err.exitCode;
  }
  throw err;
}

/** backup and vacuum work on a SQLite file; on PostgreSQL they say what to use instead (exit 2). */
function notForPostgres(command: string, instead: string): number {
  process.stderr.write(`hookline ${command}: the database is PostgreSQL (database.url is set), which this command does not handle; ${instead}. Nothing was done.\n`);
  return 2;
}

/**
 * `hookline backup FILE`: a consistent copy of the live database, safe while the server runs.
 * Progress on a TTY (stderr); the summary line always on stdout.
 */
export async function backupCommand(config: Config, file: string | undefined): Promise<number> {
  if (config.database.url) {
    return notForPostgres(
      "backup",
      "back it up with PostgreSQL's own tools: `pg_dump --format=custom --file=hookline.dump \"$HOOKLINE_DATABASE_URL\"` (a consistent copy while replicas run; restore with pg_restore into an empty database), or continuous archiving / your provider's snapshots",
    );
  }
  if (!file) {
    process.stderr.write("usage: hookline backup FILE [--config FILE] (see hookline --help)\n");
    return 2;
  }
  const progress = progressLine(process.stderr);
  const started = performance.now();
  const label = `backing up ${basename(config.database.path)} to ${file}`;
  const show = (p: FileProgress) => {
    const elapsed = seconds(performance.now() - started);
    progress.update(
      p.phase === "checking"
        ? `${label}: checking the copy (${formatMB(p.bytes)}), ${elapsed}`
        : `${label}: ${formatFraction(p.bytes, p.total)}, ${elapsed}`,
    );
  };
  // Ctrl-C: stop the copy and remove the half-written FILE.partial.
  const abort = new AbortController();
  const onSignal = () => abort.abort(new DatabaseFileError("interrupted; nothing was written", 130));
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const r = await backupDatabase({
      source: config.database.path,
      target: file,
      busyTimeoutMs: config.database.busy_timeout,
      ...(progress.enabled ? { onProgress: show } : {}),
      signal: abort.signal,
    });
    progress.end();
    if (!r.worker) {
      process.stderr.write("note: the copy ran without a worker thread (one could not be started), so without live progress\n");
    }
    process.stdout.write(
      `backup written to ${file} (${formatMB(r.bytes)}, ${r.events} events, ${r.deliveries} deliveries) in ${seconds(r.elapsedMs)}\n`,
    );
    return 0;
  } catch (err) {
    progress.end();
    return failed("backup", err);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

/**
 * `hookline vacuum`: checkpoint the WAL, rebuild the file without free pages, report sizes.
 * For a stopped server only: VACUUM holds the write lock for its whole run, so beside a running
 * one either it or the server's writes would wait and fail.
 */
export async function vacuumCommand(config: Config): Promise<number> {
  if (config.database.url) {
    return notForPostgres(
      "vacuum",
      "PostgreSQL's autovacuum reclaims the space of deleted rows by itself while replicas run; to run it by hand use PostgreSQL's tools: `vacuumdb --analyze \"$HOOKLINE_DATABASE_URL\"`, or VACUUM (ANALYZE) in psql",
    );
  }
  // Refused beside a running server (its lock), and held while vacuuming so that no server
  // starts meanwhile. A missing database is vacuumDatabase's error, with no lock file made.
  let lock: InstanceLock | undefined;
  if (existsSync(resolve(config.database.path))) {
    try {
      lock = acquireInstanceLock(config.database.path);
    } catch (err) {
      if (!(err instanceof InstanceLockedError)) throw err;
      process.stderr.write(
        `hookline vacuum: a running Hookline holds ${err.database} (its lock ${err.lockFile} is taken): stop the server first. \`hookline backup\` works beside it and also writes a compacted copy.\n`,
      );
      return 2;
    }
  }
  try {
    return await vacuumUnlocked(config);
  } finally {
    lock?.release();
  }
}

async function vacuumUnlocked(config: Config): Promise<number> {
  const progress = progressLine(process.stderr);
  const started = performance.now();
  const label = `vacuuming ${basename(config.database.path)}`;
  try {
    const r = await vacuumDatabase({
      path: config.database.path,
      busyTimeoutMs: config.database.busy_timeout,
      ...(progress.enabled
        ? {
            onProgress: (p: FileProgress) =>
              progress.update(
                `${label}: ${p.bytes > 0 ? `writing ${formatMB(p.bytes)} (at most ${formatMB(p.total)})` : "rebuilding"}, ${seconds(performance.now() - started)}`,
              ),
          }
        : {}),
    });
    progress.end();
    const size = (s: { db: number; wal: number }) => `${formatMB(s.db)} + ${formatMB(s.wal)} WAL`;
    process.stdout.write(
      `vacuumed ${config.database.path}: before ${size(r.before)}, after ${size(r.after)} in ${seconds(r.elapsedMs)}\n`,
    );
    if (r.walBusy) {
      process.stderr.write(
        "note: another process (a `hookline backup`, `doctor` or `keys` run) had the database open, so its WAL was not emptied; run vacuum again once it is done\n",
      );
    }
    return 0;
  } catch (err) {
    progress.end();
    return failed("vacuum", err);
  }
}
