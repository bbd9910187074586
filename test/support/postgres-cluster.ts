// A throwaway PostgreSQL cluster: `initdb` into a temp dir, then `postgres` itself as our child
// process on a free 127.0.0.1 port, stopped by its pid. It imports nothing from bun:test so the
// bench can start one too; test/support/postgres.ts adds the shared cluster and the test helpers.
//
// Why it is built this way:
// - `initdb` and `postgres` refuse to run as root, so as root both run as the `postgres` user
//   (else `nobody`) through `setpriv`, which execs rather than forks: the pid we hold is the
//   postmaster's, and `--pdeathsig=INT` makes it shut down by itself if this process is killed.
// - The postmaster is our child, not a `pg_ctl start` daemon: its exit is an event we can await,
//   and stopping it is SIGINT to that pid (what `pg_ctl stop -m fast` sends), SIGKILL after 15 s.
// - The app's role `hookline` is not a superuser (CREATEDB only), so the store cannot lean on
//   superuser rights by accident; it signs in with a password over TCP (scram-sha-256), like a
//   real deployment. The superuser (`postgres`) is for the harness's own administration.
// - The default collation is ICU en-US (linguistic, as on most real servers), not C: a query
//   that forgets `COLLATE "C"` where ids are compared as bytes sorts wrongly here too.
import { randomBytes } from "node:crypto";
import { appendFileSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { freePort } from "./free-port.ts";
import {
  DIR_PREFIX,
  POSTGRES_INSTALL_HINT,
  type PostgresBinaries,
  childEnv,
  clusterRoot,
  findPostgresBinaries,
  initdb,
  runAs,
  startCleaner,
  sweepStale,
  unprivilegedUser,
  withTimeout,
} from "./postgres-host.ts";
import type { PostgresCluster, PostgresOptions, StopMode } from "./postgres-types.ts";

export { type PostgresBinaries, POSTGRES_INSTALL_HINT, findPostgresBinaries } from "./postgres-host.ts";
export type { PostgresCluster, PostgresOptions, StopMode } from "./postgres-types.ts";

const HOST = "127.0.0.1";
const ROLE = "hookline";
const READY = "database system is ready to accept connections";
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 15_000;
const TAIL_BYTES = 16 * 1024;
/** Room for the store contract suite's pools and three replicas at once (100 is the default). */
const MAX_CONNECTIONS = 500;
const DATABASE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** Every cluster this process started and has not stopped: stopped at exit (scripts, the bench). */
const live = new Set<Cluster>();
process.once("exit", () => {
  for (const cluster of live) cluster.stopSync();
});

class Cluster implements PostgresCluster {
  readonly host = HOST;
  readonly user = ROLE;
  readonly password = `pw-${randomBytes(12).toString("hex")}`;
  readonly dataDir: string;
  readonly logFile: string;
  port = 0;
  private proc: Subprocess<"ignore", "ignore", "pipe"> | undefined;
  private readonly superPassword = randomBytes(12).toString("hex");
  private admin: Bun.SQL | undefined;
  private tail = "";
  private databases = 0;
  private starting: Promise<void> | undefined;
  private readonly cleaner: { end(): void };
  removed = false;

  constructor(
    readonly dir: string,
    private readonly bins: PostgresBinaries,
    private readonly settings: string[],
  ) {
    this.dataDir = join(dir, "data");
    this.logFile = join(dir, "postgres.log");
    this.cleaner = startCleaner(dir);
  }

  get url(): string {
    return this.urlFor(ROLE);
  }

  get superuserUrl(): string {
    return `postgres://postgres:${this.superPassword}@${HOST}:${this.port}/postgres`;
  }

  get pid(): number {
    return this.proc?.pid ?? 0;
  }

  get running(): boolean {
    return this.proc !== undefined;
  }

  urlFor(database: string): string {
    return `postgres://${ROLE}:${this.password}@${HOST}:${this.port}/${database}`;
  }

  logTail(): string {
    return this.tail;
  }

  async init(): Promise<void> {
    const pwfile = join(this.dir, "superuser-password");
    writeFileSync(pwfile, this.superPassword, { mode: 0o600 });
    this.own(pwfile);
    try {
      await initdb(this.bins, this.dataDir, pwfile);
    } finally {
      rmSync(pwfile, { force: true });
    }
  }

  /** Gives a path we created to the user the server runs as (a no-op when not root). */
  own(path: string): void {
    const user = unprivilegedUser();
    if (user !== undefined) chownSync(path, user.uid, user.gid);
  }

  async firstStart(): Promise<void> {
    // The port is free when probed but may be taken before the server binds it: try another.
    for (let attempt = 1; ; attempt++) {
      this.port = await freePort(HOST);
      try {
        await this.up();
        break;
      } catch (error) {
        const inUse = /could not bind|Address already in use/i.test(String(error));
        if (!inUse || attempt === 5) throw error;
      }
    }
    const admin = this.adminSql();
    await admin.unsafe(`CREATE ROLE ${ROLE} LOGIN CREATEDB PASSWORD '${this.password}'`);
    await admin.unsafe(`CREATE DATABASE ${ROLE} OWNER ${ROLE}`);
  }

  private adminSql(): Bun.SQL {
    this.admin ??= new Bun.SQL(this.superuserUrl, { max: 2 });
    return this.admin;
  }

  /** Concurrent callers share one start. */
  up(): Promise<void> {
    if (this.proc !== undefined) return Promise.resolve();
    this.starting ??= this.spawn().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  private async spawn(): Promise<void> {
    if (this.removed) throw new Error("this PostgreSQL cluster was stopped and removed");
    const proc = Bun.spawn(
      [...runAs("INT"), this.bins.postgres, "-D", this.dataDir, ...this.settings, "-c", `port=${this.port}`],
      { cwd: this.dir, env: childEnv(), stdin: "ignore", stdout: "ignore", stderr: "pipe" },
    );
    // The server alone does not keep this process alive: at exit the handler above stops it.
    proc.unref();
    this.tail = "";
    const ready = this.readLog(proc);
    const outcome = await withTimeout(Promise.race([ready, proc.exited.then(() => "exited" as const)]), START_TIMEOUT_MS);
    if (outcome !== "ready") {
      if (outcome === "timeout") proc.kill("SIGKILL");
      await proc.exited;
      throw new Error(`PostgreSQL did not start (${outcome}) on port ${this.port}:\n${this.tail}`);
    }
    this.proc = proc;
  }

  /** Drains the server's stderr into postgres.log (a full pipe would block it); "ready" once it accepts connections. */
  private readLog(proc: Subprocess<"ignore", "ignore", "pipe">): Promise<"ready"> {
    const decoder = new TextDecoder();
    return new Promise((resolve) => {
      let seen = false;
      void (async () => {
        for await (const chunk of proc.stderr) {
          appendFileSync(this.logFile, chunk);
          this.tail = (this.tail + decoder.decode(chunk, { stream: true })).slice(-TAIL_BYTES);
          if (!seen && this.tail.includes(READY)) {
            seen = true;
            resolve("ready");
          }
        }
      })();
    });
  }

  async down(mode: StopMode = "fast"): Promise<void> {
    const proc = this.proc;
    if (proc === undefined) return;
    await this.closeAdmin();
    proc.kill(mode === "fast" ? "SIGINT" : "SIGQUIT");
    if ((await withTimeout(proc.exited, STOP_TIMEOUT_MS)) === "timeout") {
      proc.kill("SIGKILL");
      await proc.exited;
    }
    this.proc = undefined;
  }

  async restart(mode: StopMode = "fast"): Promise<void> {
    await this.down(mode);
    await this.up();
  }

  async stop(): Promise<void> {
    await this.down("fast");
    this.remove();
  }

  /** For the exit handler, where nothing can be awaited: the pid file goes last at shutdown. */
  stopSync(): void {
    const proc = this.proc;
    if (proc !== undefined) {
      proc.kill("SIGINT");
      const pidFile = join(this.dataDir, "postmaster.pid");
      const pause = new Int32Array(new SharedArrayBuffer(4));
      const deadline = Date.now() + STOP_TIMEOUT_MS;
      while (existsSync(pidFile) && Date.now() < deadline) Atomics.wait(pause, 0, 0, 10);
      if (existsSync(pidFile)) proc.kill("SIGKILL");
      this.proc = undefined;
    }
    this.remove();
  }

  private remove(): void {
    this.removed = true;
    live.delete(this);
    rmSync(this.dir, { recursive: true, force: true });
    this.cleaner.end();
  }

  private async closeAdmin(): Promise<void> {
    const admin = this.admin;
    this.admin = undefined;
    await admin?.close({ timeout: 1 });
  }

  async freshDatabase(options: { name?: string; template?: string } = {}): Promise<string> {
    this.databases += 1;
    const name = options.name ?? `t${this.databases}_${randomBytes(3).toString("hex")}`;
    for (const n of [name, options.template ?? ROLE]) {
      if (!DATABASE_NAME.test(n)) throw new Error(`"${n}" is not a plain lower-case database name`);
    }
    const template = options.template === undefined ? "" : ` TEMPLATE ${options.template}`;
    await this.adminSql().unsafe(`CREATE DATABASE ${name} OWNER ${ROLE}${template}`);
    return this.urlFor(name);
  }

  async setReadOnly(on: boolean): Promise<void> {
    const admin = this.adminSql();
    await admin.unsafe(on ? "ALTER SYSTEM SET default_transaction_read_only = on" : "ALTER SYSTEM RESET default_transaction_read_only");
    await admin`SELECT pg_reload_conf()`;
    // The postmaster reloads asynchronously: wait until a new session sees the new value.
    const want = on ? "on" : "off";
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      const probe = new Bun.SQL(this.superuserUrl, { max: 1 });
      const [row] = await probe`SHOW default_transaction_read_only`;
      await probe.close();
      if ((row as { default_transaction_read_only?: string }).default_transaction_read_only === want) return;
      if (Date.now() > deadline) throw new Error(`default_transaction_read_only did not become ${want}`);
      await Bun.sleep(5);
    }
  }

  async dropConnections(): Promise<number> {
    const rows = await this.adminSql()`
      SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = ${ROLE} AND pid <> pg_backend_pid()`;
    return rows.length;
  }
}

function serverSettings(dir: string, options: PostgresOptions): string[] {
  const settings: Record<string, string | number> = {
    listen_addresses: HOST,
    unix_socket_directories: join(dir, "sock"),
    max_connections: MAX_CONNECTIONS,
    // English, so the harness can read its own "ready" line whatever the machine's locale.
    lc_messages: "C",
    ...(options.durable ? {} : { fsync: "off", full_page_writes: "off" }),
    ...options.settings,
  };
  return Object.entries(settings).flatMap(([name, value]) => ["-c", `${name}=${value}`]);
}

/**
 * A new cluster, started and ready: role `hookline` (password in `url`) owning database
 * `hookline`. Throws when no server binaries are installed (see POSTGRES_INSTALL_HINT).
 */
export async function startPostgres(options: PostgresOptions = {}): Promise<PostgresCluster> {
  const bins = findPostgresBinaries();
  if (bins === undefined) throw new Error(`no PostgreSQL server binaries found: ${POSTGRES_INSTALL_HINT}`);
  const root = clusterRoot(options.durable === true);
  sweepStale(root);
  const dir = mkdtempSync(join(root, DIR_PREFIX));
  writeFileSync(join(dir, "owner"), String(process.pid));
  mkdirSync(join(dir, "sock"));
  const cluster = new Cluster(dir, bins, serverSettings(dir, options));
  live.add(cluster);
  try {
    cluster.own(dir);
    cluster.own(join(dir, "sock"));
    await cluster.init();
    await cluster.firstStart();
    return cluster;
  } catch (error) {
    await cluster.stop();
    throw error;
  }
}
