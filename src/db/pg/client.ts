// The thin client the PostgreSQL store talks through: Bun's built-in Bun.SQL (it works inside
// `bun build --compile`, pools connections, and binds JS arrays to `$n::text[]` for unnest).
// Everything above this file sees plain rows and SQLSTATE codes, so another driver could stand
// behind the same interface. Bun.SQL returns int8/bigint columns as strings: the store's row
// mappers convert them (`num`), or the statements cast to int4/float8 where a value is small.

export type Row = Record<string, unknown>;

export interface PgQueryable {
  /** One parameterised statement ($1, $2…); the rows it returns. */
  query<T extends Row = Row>(text: string, params?: readonly unknown[]): Promise<T[]>;
}

export interface PgClient extends PgQueryable {
  /** Runs `fn` in one transaction on one connection: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: PgQueryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

interface BunSqlLike {
  unsafe(text: string, params?: unknown[]): Promise<unknown>;
  begin<T>(fn: (tx: BunSqlLike) => Promise<T>): Promise<T>;
  close(opts?: { timeout?: number }): Promise<void>;
}

function queryable(sql: BunSqlLike): PgQueryable {
  return {
    async query<T extends Row>(text: string, params: readonly unknown[] = []): Promise<T[]> {
      return (await sql.unsafe(text, [...params])) as T[];
    },
  };
}

export function connectPostgres(url: string, poolSize: number): PgClient {
  const sql = new Bun.SQL(url, {
    max: poolSize,
    idleTimeout: 30,
    connectionTimeout: 10,
    // A 202 means committed durably (API.md §11), whatever the server, database or role says
    // synchronous_commit is by default; application_name shows the sessions in pg_stat_activity.
    connection: { synchronous_commit: "on", application_name: "hookline" },
  }) as unknown as BunSqlLike;
  return {
    ...queryable(sql),
    transaction: (fn) => sql.begin((tx) => fn(queryable(tx))),
    close: () => sql.close({ timeout: 5 }),
  };
}

/** The SQLSTATE of a PostgreSQL error (Bun.SQL puts it in `errno`), if it is one. */
export function sqlState(err: unknown): string | undefined {
  if (typeof err !== "object" || err === null) return undefined;
  const { errno, code } = err as { errno?: unknown; code?: unknown };
  if (typeof errno === "string" && /^[0-9A-Z]{5}$/.test(errno)) return errno;
  if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) return code;
  return undefined;
}

/**
 * Why the database cannot serve now (a condition to report as 503, not a bug), or undefined:
 * the connection is gone or refused (class 08, and Bun.SQL's own connection errors), the server
 * is shutting down or starting (57P0x), it is read-only (25006: a standby, or
 * default_transaction_read_only) or out of resources (53xxx: disk full, too many connections).
 */
export function storageTrouble(err: unknown): string | undefined {
  const state = sqlState(err);
  if (state !== undefined) {
    if (state.startsWith("08") || state.startsWith("53") || state.startsWith("57P") || state === "25006") {
      return `PostgreSQL ${state}`;
    }
    return undefined;
  }
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === "string" && /^ERR_POSTGRES_(CONNECTION|CONNECTION_CLOSED|CONNECTION_TIMEOUT|IDLE_TIMEOUT|LIFETIME_TIMEOUT)/.test(code)) {
    return `PostgreSQL ${code}`;
  }
  const sysCode = (err as { code?: unknown } | null)?.code;
  if (sysCode === "ECONNREFUSED" || sysCode === "ECONNRESET") return `PostgreSQL ${sysCode}`;
  return undefined;
}

/** An int8 column as Bun.SQL returns it (a string), as a number; null stays null. */
export function num(value: unknown): number {
  return typeof value === "number" ? value : Number(value);
}

export function numOrNull(value: unknown): number | null {
  return value === null || value === undefined ? null : num(value);
}

/** The database's own clock in epoch milliseconds, for leases compared across replicas. */
export const DB_NOW_MS = "(extract(epoch from clock_timestamp()) * 1000)::bigint";
