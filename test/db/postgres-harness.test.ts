// The throwaway PostgreSQL every store test stands on: it starts, the app's role signs in with
// the URL's password, it survives a restart on the same URL, and stop() leaves nothing behind.
import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../support/free-port.ts";
import { run } from "../support/process.ts";
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
    pg = await startPostgres();
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

  postgresTest("as root, the server runs as an unprivileged user and owns its data dir", async () => {
    const cluster = pg as PostgresCluster;
    const owner = statSync(cluster.dataDir).uid;
    if (process.getuid?.() === 0) expect(owner).not.toBe(0);
    else expect(owner).toBe(process.getuid?.() ?? owner);
    expect(statSync(`/proc/${cluster.pid}`).uid).toBe(owner);
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
    await cluster.restart();
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
    const [before] = await sql`SELECT pg_backend_pid() AS pid`;
    // At least ours (a session closed just before may still be on its way out).
    expect(await cluster.dropConnections()).toBeGreaterThanOrEqual(1);
    const after = await sql`SELECT pg_backend_pid() AS pid`.then(([row]) => row, (error: unknown) => error);
    expect(after).not.toEqual(before);
    await sql.close();
  });

  postgresTest("stop ends the server by its pid and removes the temp dir", async () => {
    const cluster = pg as PostgresCluster;
    const { pid, dir, dataDir } = cluster;
    expect(statSync(dataDir).isDirectory()).toBe(true);
    await cluster.stop();
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

// What .ci/run relies on: without server binaries the tests are skipped with one loud line, and
// HOOKLINE_REQUIRE_POSTGRES=1 turns that skip into a failure.
test("missing binaries: a loud skip, or a failure when PostgreSQL is required", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hookline-pg-missing-"));
  try {
    const support = join(import.meta.dir, "..", "support", "postgres.ts");
    writeFileSync(join(dir, "needs.test.ts"), `import { postgresTest } from ${JSON.stringify(support)};\npostgresTest("needs it", () => {});\n`);
    const cmd = [process.execPath, "test", "./needs.test.ts"];
    const missing = { HOOKLINE_POSTGRES_BIN: join(dir, "no-such-bin") };
    const skipped = await run(cmd, { cwd: dir, env: missing });
    expect(skipped.code).toBe(0);
    expect(`${skipped.stdout}${skipped.stderr}`.match(/SKIPPING POSTGRESQL TESTS.*apt-get install -y postgresql-15/g)).toHaveLength(1);
    const failed = await run(cmd, { cwd: dir, env: { ...missing, HOOKLINE_REQUIRE_POSTGRES: "1" } });
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain("PostgreSQL is required (HOOKLINE_REQUIRE_POSTGRES=1) but missing");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
