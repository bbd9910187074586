// Reaching PostgreSQL at start (API.md §11: an unreachable server at start is retried with a
// logged reason, not a crash) and bringing its schema up to date: for a replica's start
// (pg/open.ts) and for the CLI commands that work against PostgreSQL (migrate, keys, doctor,
// secrets encrypt, db copy). A replica waits as long as it takes; a command gives up after a few
// seconds with exit 1. Nothing here imports the store, so the CLI's other paths stay light.
import { redactDatabaseUrl } from "../../lib/database-url.ts";
import type { Logger } from "../../observability/logger.ts";
import { StartupError } from "../../startup-error.ts";
import { connectPostgres, type PgClient, sqlState, storageTrouble } from "./client.ts";
import { applyPgMigrations, type PgMigrationResult, SchemaTooNewError } from "./migrate.ts";

/** Waits between tries while the server is not reachable: 0.5 s, doubling, at most 5 s. */
export function retryDelayMs(attempt: number): number {
  return Math.min(5_000, 500 * 2 ** Math.max(0, attempt - 1));
}

/** Tries a CLI command makes before it gives up (exit 1): about 3.5 s of waiting in all. */
export const TOOL_TRIES = 4;

export interface PgTry {
  /** 1 for the first try. */
  attempt: number;
  /** Why it failed: the driver's words and code, never the password. */
  why: string;
  /** When the next try is (undefined: no further try). */
  retryInMs: number | undefined;
}

export interface PgConnectOptions {
  /** Tries before giving up; Infinity for serve (default TOOL_TRIES). */
  tries?: number;
  /** Told about each failed try. */
  onRetry?: (t: PgTry) => void;
  /** The wait between tries (tests shorten it). */
  sleep?: (ms: number) => Promise<void>;
}

/**
 * A client whose first statements have succeeded: `prepare` (the migrations, a check) runs on it
 * inside the same tries, so a server that went away in between is waited for too. An unreachable
 * server (refused, reset, timed out, starting up, shutting down) is tried again after
 * retryDelayMs; anything else — a wrong password, an unknown database or role, a URL the driver
 * refuses — is an operator's mistake that waiting will not fix: a StartupError (exit 2) naming
 * database.url at once. After the last try a StartupError with exit 1.
 */
export async function connectPostgresPatiently<T>(
  url: string,
  poolSize: number,
  prepare: (client: PgClient) => Promise<T>,
  opts: PgConnectOptions = {},
): Promise<{ client: PgClient; prepared: T }> {
  const shown = redactDatabaseUrl(url);
  const tries = opts.tries ?? TOOL_TRIES;
  const sleep = opts.sleep ?? ((ms: number) => Bun.sleep(ms));
  for (let attempt = 1; ; attempt++) {
    let client: PgClient;
    try {
      client = connectPostgres(url, poolSize);
    } catch (err) {
      throw new StartupError(`hookline: database.url (${shown}) is not a URL PostgreSQL's driver accepts: ${scrub(err, url)}`);
    }
    try {
      return { client, prepared: await prepare(client) };
    } catch (err) {
      await client.close().catch(() => {});
      if (err instanceof StartupError || err instanceof SchemaTooNewError) throw err;
      const trouble = storageTrouble(err);
      if (trouble === undefined) throw refused(err, url, shown);
      const why = `${scrub(err, url)} (${trouble.replace(/^PostgreSQL /, "")})`;
      const last = attempt >= tries;
      opts.onRetry?.({ attempt, why, retryInMs: last ? undefined : retryDelayMs(attempt) });
      if (last) {
        throw new StartupError(`hookline: PostgreSQL at ${shown} (database.url) is not reachable: ${why}; gave up after ${attempt} tries`, 1);
      }
      await sleep(retryDelayMs(attempt));
    }
  }
}

/** A server that answered and said no: a mistake in database.url, or a bug to show as it is. */
function refused(err: unknown, url: string, shown: string): unknown {
  const state = sqlState(err) ?? "";
  // 28: invalid authorization (password, role, pg_hba); 3D000: no such database.
  if (state.startsWith("28") || state === "3D000") {
    return new StartupError(`hookline: PostgreSQL at ${shown} refused the connection: ${scrub(err, url)} (SQLSTATE ${state}); check database.url`);
  }
  return err;
}

/** An error's message without the URL's password, should a driver ever quote it. */
function scrub(err: unknown, url: string): string {
  const message = err instanceof Error ? err.message : String(err);
  let password = "";
  try {
    password = decodeURIComponent(new URL(url).password);
  } catch {
    // Not a URL: there is no password to find in the message.
  }
  return password.length > 0 ? message.split(password).join("***") : message;
}

/** The schema applied; a schema newer than this binary refuses to start (exit 2, both versions). */
export async function migratePgSchema(client: PgClient): Promise<PgMigrationResult> {
  try {
    return await applyPgMigrations(client);
  } catch (err) {
    if (err instanceof SchemaTooNewError) throw new StartupError(`hookline: ${err.message}`);
    throw err;
  }
}

/** The retry lines: the server's log (warn) for serve, stderr for a CLI command. */
export function reportRetries(url: string, logger?: Pick<Logger, "warn">): (t: PgTry) => void {
  const database = redactDatabaseUrl(url);
  return ({ attempt, why, retryInMs }) => {
    if (retryInMs === undefined) return; // the StartupError that follows says it
    if (logger) {
      logger.warn({ database, attempt, why, retry_in_ms: retryInMs }, "PostgreSQL is not reachable yet; trying again");
    } else {
      process.stderr.write(`hookline: PostgreSQL at ${database} is not reachable (${why}); trying again in ${(retryInMs / 1000).toFixed(1)} s\n`);
    }
  };
}

/** `hookline migrate` on PostgreSQL: the migrations applied, as a replica's start does. */
export async function migratePostgres(url: string): Promise<PgMigrationResult> {
  const { client, prepared } = await connectPostgresPatiently(url, 1, migratePgSchema, { onRetry: reportRetries(url) });
  await client.close();
  return prepared;
}
