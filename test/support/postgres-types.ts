// What a test PostgreSQL offers (test/support/postgres-cluster.ts builds it): the interface
// the store tests, the three-replica test and the bench program against.

export interface PostgresOptions {
  /**
   * fsync and full_page_writes on (default off): for the bench, so PostgreSQL pays for
   * durability as SQLite does with synchronous=full. Off changes nothing a test can observe
   * short of an OS crash; synchronous_commit stays at its default (on) either way.
   */
  durable?: boolean;
  /** Extra server settings, passed as `-c name=value`. */
  settings?: Readonly<Record<string, string | number>>;
}

export type StopMode = "fast" | "immediate";

export interface PostgresCluster {
  /** `postgres://hookline:<password>@127.0.0.1:<port>/hookline`: the app's role, database `hookline`. */
  readonly url: string;
  /** The superuser `postgres` on database `postgres`, for administration in tests. */
  readonly superuserUrl: string;
  readonly host: "127.0.0.1";
  readonly port: number;
  readonly user: "hookline";
  /** Random per cluster, so a test can check that no log or output ever contains it. */
  readonly password: string;
  /** The temp dir holding the data dir, the socket dir and postgres.log; removed by stop(). */
  readonly dir: string;
  readonly dataDir: string;
  readonly logFile: string;
  /** The postmaster's pid; it changes on restart, and is 0 while the server is down. */
  readonly pid: number;
  readonly running: boolean;
  /** True once stop() removed it: it cannot be started again. */
  readonly removed: boolean;
  /** The URL of another database of this cluster, as the app's role. */
  urlFor(database: string): string;
  /**
   * CREATE DATABASE (owned by `hookline`) and its URL. `template` clones a database already set
   * up (e.g. migrated once); it must have no open connection while it is copied.
   */
  freshDatabase(options?: { name?: string; template?: string }): Promise<string>;
  /**
   * `default_transaction_read_only` on or off for every session, via ALTER SYSTEM and a reload.
   * Resolves once a new session sees it; a session already open may run one more statement
   * with the old value, so wait for the effect you test rather than assuming it.
   */
  setReadOnly(on: boolean): Promise<void>;
  /** Ends every session of the app's role (as a network cut or a failover would). */
  dropConnections(): Promise<number>;
  /** Stops the server, keeping its data and port: `fast` (SIGINT) or `immediate` (SIGQUIT, a crash). */
  down(mode?: StopMode): Promise<void>;
  /** Starts it again after down(), on the same port; resolves when it accepts connections. */
  up(): Promise<void>;
  restart(mode?: StopMode): Promise<void>;
  /** Stops the server and removes its temp dir. Idempotent. */
  stop(): Promise<void>;
  /** The end of the server's log, for failure messages. */
  logTail(): string;
}
