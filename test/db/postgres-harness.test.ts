// The throwaway PostgreSQL every store test stands on: it starts, the app's role signs in with
// the URL's password, it survives a restart on the same URL, and stop() leaves nothing behind.
import { afterAll, expect, test } from "bun:test";
import { existsSync, statSync } from "node:fs";
import { freePort } from "../support/free-port.ts";
import { type PostgresCluster, describePostgres, freshDatabase, postgresTest, sharedPostgres, startPostgres } from "../support/postgres.ts";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function one<T>(url: string, query: (sql: Bun.SQL) => Promise<T>): Promise<T> {
  const sql = new Bun.SQL(url, { max: 1 });
  try {
    return await query(sql);
  } finally {
    await sql.close();
  }
}

test("freePort gives a port nobody listens on", async () => {
  const port = await freePort();
  expect(port).toBeGreaterThan(0);
  const server = Bun.listen({ hostname: "127.0.0.1", port, socket: { data() {} } });
  server.stop(true);
});

describePostgres("a cluster of its own", () => {
  let pg: PostgresCluster | undefined;
  afterAll(() => pg?.stop());

  postgresTest("starts on 127.0.0.1 and the app's role connects with the URL's password", async () => {
    const started = performance.now();
    pg = await startPostgres();
    console.log(`postgres harness: cluster started in ${Math.round(performance.now() - started)} ms`);
    expect(pg.url).toBe(`postgres://hookline:${pg.password}@127.0.0.1:${pg.port}/hookline`);
    expect(alive(pg.pid)).toBe(true);
    const row = await one(pg.url, async (sql) => {
      const [r] = await sql`SELECT 1 AS one, current_user AS who, current_database() AS db,
        current_setting('max_connections')::int AS max, current_setting('synchronous_commit') AS sync,
        (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS super`;
      return r;
    });
    expect(row).toEqual({ one: 1, who: "hookline", db: "hookline", max: 500, sync: "on", super: false });
  });

  postgresTest("a wrong password is refused", async () => {
    const cluster = pg as PostgresCluster;
    const wrong = cluster.url.replace(cluster.password, "not-the-password");
    await expect(one(wrong, (sql) => sql`SELECT 1`)).rejects.toThrow();
  });

  postgresTest("the default collation is linguistic, so ids need COLLATE \"C\" to compare as bytes", async () => {
    const rows = await one((pg as PostgresCluster).url, (sql) => sql`SELECT 'b' < 'B' AS linguistic, 'b' < 'B' COLLATE "C" AS bytes`);
    expect(rows[0]).toEqual({ linguistic: true, bytes: false });
  });

  postgresTest("restart keeps the URL and the data; the pid changes", async () => {
    const cluster = pg as PostgresCluster;
    await one(cluster.url, (sql) => sql`CREATE TABLE kept (n int); INSERT INTO kept VALUES (7)`.simple());
    const before = cluster.pid;
    const started = performance.now();
    await cluster.restart();
    console.log(`postgres harness: restarted in ${Math.round(performance.now() - started)} ms`);
    expect(cluster.pid).not.toBe(before);
    expect(alive(before)).toBe(false);
    expect(await one(cluster.url, (sql) => sql`SELECT n FROM kept`)).toEqual([{ n: 7 }]);
  });

  postgresTest("down refuses connections until up; an immediate stop loses nothing committed", async () => {
    const cluster = pg as PostgresCluster;
    await one(cluster.url, (sql) => sql`INSERT INTO kept VALUES (8)`);
    await cluster.down("immediate");
    expect(cluster.running).toBe(false);
    expect(cluster.pid).toBe(0);
    await expect(one(cluster.url, (sql) => sql`SELECT 1`)).rejects.toThrow();
    await cluster.up();
    expect(await one(cluster.url, (sql) => sql`SELECT n FROM kept ORDER BY n`)).toEqual([{ n: 7 }, { n: 8 }]);
  });

  postgresTest("read-only mode refuses writes and lifts", async () => {
    const cluster = pg as PostgresCluster;
    await cluster.setReadOnly(true);
    const error = await one(cluster.url, (sql) => sql`INSERT INTO kept VALUES (9)`).catch((e: unknown) => e);
    // SQLSTATE 25006 read_only_sql_transaction: what the store maps to storage_unavailable.
    expect((error as { errno?: string }).errno).toBe("25006");
    await cluster.setReadOnly(false);
    await one(cluster.url, (sql) => sql`INSERT INTO kept VALUES (9)`);
  });

  postgresTest("dropConnections ends the app's sessions", async () => {
    const cluster = pg as PostgresCluster;
    const sql = new Bun.SQL(cluster.url, { max: 1 });
    await sql`SELECT 1`;
    expect(await cluster.dropConnections()).toBe(1);
    await sql.close();
  });

  postgresTest("stop ends the server by its pid and removes the temp dir", async () => {
    const cluster = pg as PostgresCluster;
    const { pid, dir, dataDir } = cluster;
    expect(statSync(dataDir).isDirectory()).toBe(true);
    const started = performance.now();
    await cluster.stop();
    console.log(`postgres harness: stopped in ${Math.round(performance.now() - started)} ms`);
    expect(alive(pid)).toBe(false);
    expect(existsSync(dir)).toBe(false);
    expect(cluster.removed).toBe(true);
    await cluster.stop();
  });
});

describePostgres("the shared cluster", () => {
  postgresTest("is one per process, with a new empty database per call", async () => {
    const [a, b] = await Promise.all([sharedPostgres(), sharedPostgres()]);
    expect(a).toBe(b);
    const [first, second] = await Promise.all([freshDatabase(), freshDatabase()]);
    expect(first).not.toBe(second);
    await one(first, (sql) => sql`CREATE TABLE only_here (n int)`);
    const tables = await one(second, (sql) => sql`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'`);
    expect(tables).toEqual([{ n: 0 }]);
  });

  postgresTest("a template clones a database set up once", async () => {
    const template = await freshDatabase();
    await one(template, (sql) => sql`CREATE TABLE migrated (n int); INSERT INTO migrated VALUES (1)`.simple());
    const name = new URL(template).pathname.slice(1);
    const copy = await freshDatabase({ template: name });
    expect(await one(copy, (sql) => sql`SELECT n FROM migrated`)).toEqual([{ n: 1 }]);
  });
});
