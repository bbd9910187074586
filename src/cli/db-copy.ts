import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type { Config } from "../config/types.ts";
import { acquireInstanceLock, type InstanceLock, InstanceLockedError } from "../db/instance-lock.ts";
import { openMigrated } from "../db/open.ts";
import type { PgClient } from "../db/pg/client.ts";
import { COPIED_TABLES, type CopyProgress, CopyMismatchError, copySqliteToPostgres, TargetNotEmptyError } from "../db/pg/copy.ts";
import { connectPostgresPatiently, migratePgSchema, reportRetries } from "../db/pg/connect.ts";
import { databaseUrlProblem, redactDatabaseUrl } from "../lib/database-url.ts";
import { StartupError } from "../startup-error.ts";
import { progressLine } from "./progress.ts";

export interface DbCopyArgs {
  /** The PostgreSQL database to fill (`--to`). */
  to: string | undefined;
}

const USAGE = "usage: hookline db copy --to postgres://user:password@host:5432/db [--config FILE] (see hookline --help)\n";

function refuse(message: string): number {
  process.stderr.write(`hookline db copy: ${message}\n`);
  return 2;
}

/**
 * `hookline db copy --to URL`: the SQLite database at database.path into the empty PostgreSQL
 * database at URL (db/pg/copy.ts), with the server stopped — the instance lock is taken for the
 * whole copy, so it is refused while a server runs and no server starts on the file meanwhile.
 * The summary on stdout, progress on a terminal (stderr), what to do next on stderr.
 */
export async function dbCopyCommand(config: Config, args: DbCopyArgs): Promise<number> {
  if (!args.to) return refuse(`--to is required\n${USAGE}`);
  const problem = databaseUrlProblem(args.to);
  if (problem !== undefined) return refuse(`--to ${problem}`);
  const source = config.database.path;
  if (source === ":memory:" || source === "" || !existsSync(resolve(source))) {
    return refuse(`there is no SQLite database at ${resolve(source)} (database.path) to copy`);
  }
  let lock: InstanceLock | undefined;
  try {
    lock = acquireInstanceLock(source);
  } catch (err) {
    if (!(err instanceof InstanceLockedError)) throw err;
    return refuse(`a running Hookline holds ${err.database} (its lock ${err.lockFile} is taken): stop the server first, then copy`);
  }
  try {
    return await copyLocked(config, args.to);
  } finally {
    lock?.release();
  }
}

async function copyLocked(config: Config, to: string): Promise<number> {
  const target = redactDatabaseUrl(to);
  // Brought to this binary's schema first, as `serve` would: the copy reads its columns.
  const { sqlite, applied } = openMigrated(config);
  let client: PgClient | undefined;
  const progress = progressLine(process.stderr);
  try {
    if (applied > 0) process.stderr.write(`migrated ${config.database.path} first (${applied} migration(s))\n`);
    ({ client } = await connectPostgresPatiently(to, 2, migratePgSchema, { onRetry: reportRetries(to) }));
    const started = performance.now();
    const show = (p: CopyProgress) => {
      const pct = p.allTotal === 0 ? 100 : Math.floor((p.allDone / p.allTotal) * 100);
      const elapsed = ((performance.now() - started) / 1000).toFixed(1);
      progress.update(`copying to ${target}: ${p.table} ${p.done}/${p.total}, ${pct}% of ${p.allTotal} rows, ${elapsed} s`);
    };
    const result = await copySqliteToPostgres(sqlite, client, progress.enabled ? { onProgress: show } : {});
    progress.end();
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const counts = COPIED_TABLES.map((t) => `${t.name.replace("_", " ")} ${result.counts[t.name]}`).join(", ");
    process.stdout.write(`copied ${config.database.path} to ${target} in ${seconds} s: ${counts}; counts verified\n`);
    const { encrypted, plaintext } = result.secrets;
    if (encrypted > 0) {
      process.stderr.write(
        `note: ${encrypted} webhook(s) have their secrets encrypted, copied as they are: give every replica the same security.encryption_key\n`,
      );
    }
    if (plaintext > 0) {
      process.stderr.write(
        `note: ${plaintext} webhook(s) have secrets in plaintext, copied as they are: set security.encryption_key and run \`hookline secrets encrypt\` against PostgreSQL\n`,
      );
    }
    process.stderr.write(
      "next: set database.url (or HOOKLINE_DATABASE_URL) on the replicas and start them; keep the SQLite file, unchanged, until you are satisfied\n",
    );
    return 0;
  } catch (err) {
    progress.end();
    if (err instanceof TargetNotEmptyError) return refuse(err.message);
    if (err instanceof CopyMismatchError) {
      process.stderr.write(`hookline db copy: ${err.message}\n`);
      return 1;
    }
    if (err instanceof StartupError || client === undefined) throw err;
    // Inside the one transaction: nothing of it was committed.
    process.stderr.write(`hookline db copy: the copy failed and was rolled back (${target} is as it was): ${(err as Error).message}\n`);
    return 1;
  } finally {
    await client?.close();
    sqlite.close();
  }
}
