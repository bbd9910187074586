// The bench's own throwaway PostgreSQL (BENCH_STORE=postgres): the tests' cluster helper with
// fsync on (`durable`, on disk, so PostgreSQL pays for durability as SQLite does with
// synchronous = full), one fresh database per scenario (each starts empty, like SQLite's fresh
// folder) dropped after it, and its CPU time (postmaster and backends) for the table.
// The cluster stops with stop(), and by itself at exit (the helper's exit handler; the
// postmaster also gets SIGINT from the kernel if the bench dies: pdeathsig).
import { type PostgresCluster, startPostgres } from "../test/support/postgres-cluster.ts";
import { treeCpuSeconds } from "./proc.ts";

export class BenchPostgres {
  private constructor(private readonly cluster: PostgresCluster) {}

  static async start(): Promise<BenchPostgres> {
    return new BenchPostgres(await startPostgres({ durable: true }));
  }

  get pid(): number {
    return this.cluster.pid;
  }

  get dir(): string {
    return this.cluster.dir;
  }

  /** A new empty database owned by the app's role: its URL (with the password). */
  freshDatabase(): Promise<string> {
    return this.cluster.freshDatabase();
  }

  /** Drops a database freshDatabase() made, once no replica uses it (a 1M backlog is ~GBs). */
  async drop(databaseUrl: string): Promise<void> {
    const name = new URL(databaseUrl).pathname.slice(1);
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`not a database this bench made: ${name}`);
    const admin = new Bun.SQL(this.cluster.superuserUrl, { max: 1 });
    try {
      await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    } finally {
      await admin.close({ timeout: 1 });
    }
  }

  /** CPU seconds of the server so far (postmaster, live backends and exited ones). */
  cpuSeconds(): Promise<number> {
    return treeCpuSeconds(this.cluster.pid);
  }

  logTail(): string {
    return this.cluster.logTail();
  }

  stop(): Promise<void> {
    return this.cluster.stop();
  }
}
