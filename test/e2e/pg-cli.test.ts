// The CLI against PostgreSQL (API.md §11), as an operator runs it: database.url set through
// HOOKLINE_DATABASE_URL, real child processes, a real throwaway cluster. No output ever holds
// the database password.
import { afterAll, beforeAll, expect } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import journal from "../../migrations-pg/meta/_journal.json" with { type: "json" };
import { freePort } from "../support/free-port.ts";
import { describePostgres, freshDatabase, postgresTest, sharedPostgres } from "../support/postgres.ts";
import { type RunResult, run, startServe } from "../support/process.ts";

const main = join(import.meta.dir, "..", "..", "src", "main.ts");
const cli = (...args: string[]) => [process.execPath, main, ...args];
let cwd: string;
let password: string;

beforeAll(() => {
  cwd = mkdtempSync(join(tmpdir(), "hookline-pg-cli-"));
});
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

async function database(): Promise<string> {
  const url = await freshDatabase();
  password = (await sharedPostgres()).password;
  return url;
}

function on(url: string, ...args: string[]): Promise<RunResult> {
  return run(cli(...args), { cwd, env: { HOOKLINE_DATABASE_URL: url } });
}

function expectNoPassword(...results: RunResult[]): void {
  for (const r of results) expect(r.stdout + r.stderr).not.toContain(password);
}

describePostgres("the CLI against PostgreSQL", () => {
  postgresTest("migrate applies the PostgreSQL migrations once; config check names the URL without its password", async () => {
    const url = await database();
    const first = await on(url, "migrate");
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain(`applied ${journal.entries.length} migration(s) to postgres://hookline:***@`);
    const again = await on(url, "migrate");
    expect(again.stdout).toContain("applied 0 migration(s)");
    const check = await on(url, "config", "check");
    expect(check.code).toBe(0);
    expect(check.stdout).toContain("database: postgres://hookline:***@127.0.0.1:");
    expect(check.stdout).toContain("(PostgreSQL)");
    expectNoPassword(first, again, check);
  });

  postgresTest("keys create, list and revoke work on PostgreSQL; nothing is written to the working directory", async () => {
    const url = await database();
    const created = await on(url, "keys", "create", "--tenant", "*", "--role", "admin", "--name", "ops");
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/^key_\w+\thkl_[A-Za-z0-9_-]{43}\n$/);
    const [id, key] = created.stdout.trim().split("\t") as [string, string];
    const list = await on(url, "keys", "list");
    expect(list.stdout).toContain(`${id}\t*\tadmin\t`);
    expect(list.stdout).not.toContain(key);
    expect((await on(url, "keys", "revoke", id)).code).toBe(0);
    expect((await on(url, "keys", "list")).stdout).not.toContain(id);
    const again = await on(url, "keys", "revoke", id);
    expect(again.code).toBe(2);
    // database.path is unused: no data folder, no SQLite file, no lock file.
    expect(await Array.fromAsync(new Bun.Glob("**").scan({ cwd, dot: true }))).toEqual([]);
    expectNoPassword(created, list, again);
  });

  postgresTest("doctor reports the PostgreSQL database: version, migrations, counts; never the password", async () => {
    const url = await database();
    const before = await on(url, "doctor");
    expect(before.code, before.stderr).toBe(0);
    // Read-only: a database never migrated shows its migrations pending and its tables missing.
    const tags = journal.entries.map((e) => e.tag);
    expect(before.stdout).toContain(`migrations: 0 applied of ${tags.length} known, latest none; ${tags.length} pending (${tags.join(", ")})`);
    expect(before.stdout).toContain("events: n/a (table missing)");
    expect((await on(url, "keys", "create", "--tenant", "acme", "--role", "viewer")).code).toBe(0);
    const after = await on(url, "doctor");
    expect(after.code, after.stderr).toBe(0);
    for (const line of [
      "database: postgres://hookline:***@127.0.0.1:",
      "postgresql version: 15",
      "database size: ",
      "housekeeping: no replica yet",
      `migrations: ${tags.length} applied of ${tags.length} known, latest ${tags.at(-1)}; up to date`,
      "webhooks: 0 enabled, 0 disabled",
      "api keys: 1 active, 0 expired, 0 revoked",
      "events: 0",
      "deliveries: pending 0, delivering 0, succeeded 0, failed 0",
      "database.pool_size: 10 connections per replica",
    ]) {
      expect(after.stdout).toContain(line);
    }
    expectNoPassword(before, after);
  });

  postgresTest("backup and vacuum point to PostgreSQL's own tools (exit 2) and touch nothing", async () => {
    const url = await database();
    const backup = await on(url, "backup", join(cwd, "copy.db"));
    expect(backup.code).toBe(2);
    expect(backup.stderr).toContain("pg_dump");
    const vacuum = await on(url, "vacuum");
    expect(vacuum.code).toBe(2);
    expect(vacuum.stderr).toContain("autovacuum");
    expect(vacuum.stderr).toContain("vacuumdb");
    expect(await Array.fromAsync(new Bun.Glob("**").scan({ cwd, dot: true }))).toEqual([]);
    expectNoPassword(backup, vacuum);
  });

  postgresTest("a bad database.url is exit 2 naming it; a wrong password is exit 2 without repeating it", async () => {
    const url = await database();
    const malformed = await on("mysql://root:hunter2@db/hookline", "migrate");
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toContain("database.url");
    expect(malformed.stderr).not.toContain("hunter2");
    const wrong = url.replace(`:${password}@`, ":not-the-password@");
    const refused = await on(wrong, "keys", "list");
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("check database.url");
    expect(refused.stderr).not.toContain("not-the-password");
  });

  postgresTest("an unreachable server: a command says so on each try, then gives up (exit 1)", async () => {
    const port = await freePort();
    const res = await on(`postgres://hookline:secret-pw@127.0.0.1:${port}/hookline`, "keys", "list");
    expect(res.code).toBe(1);
    const tries = res.stderr.split("\n").filter((l) => l.includes("is not reachable") && l.includes("trying again in"));
    expect(tries).toHaveLength(3);
    expect(res.stderr).toContain("gave up after 4 tries");
    expect(res.stderr).toContain(`postgres://hookline:***@127.0.0.1:${port}/hookline`);
    expect(res.stderr).not.toContain("secret-pw");
  });

  postgresTest(
    "db copy: refused while a server holds the SQLite database, then copies it into an empty database once; the keys work there",
    async () => {
      const url = await database();
      const dir = mkdtempSync(join(cwd, "sqlite-"));
      const sqlite = (...args: string[]) => run(cli(...args), { cwd: dir });
      const made = await sqlite("keys", "create", "--tenant", "acme", "--role", "publisher", "--name", "moved");
      expect(made.code, made.stderr).toBe(0);
      const id = made.stdout.split("\t")[0] ?? "";

      expect((await sqlite("db", "copy")).code).toBe(2);
      const notPg = await sqlite("db", "copy", "--to", "mysql://db/x");
      expect(notPg.code).toBe(2);
      expect(notPg.stderr).toContain("--to must start with postgres://");

      const server = await startServe(cli("serve"), { cwd: dir, env: { HOOKLINE_ROOT_KEY: "a-root-key-for-this-test-only" } });
      let held: RunResult;
      try {
        held = await sqlite("db", "copy", "--to", url);
        expect(held.code).toBe(2);
        expect(held.stderr).toContain("stop the server first");
      } finally {
        server.proc.kill("SIGTERM");
      }
      expect(await server.proc.exited).toBe(0);

      const copied = await sqlite("db", "copy", "--to", url);
      expect(copied.code, copied.stderr).toBe(0);
      expect(copied.stdout).toContain("api keys 1, event types 0, webhooks 0, events 0, deliveries 0, attempts 0, attempt stats 0, replay jobs 0; counts verified");
      expect(copied.stderr).toContain("set database.url");
      const twice = await sqlite("db", "copy", "--to", url);
      expect(twice.code).toBe(2);
      expect(twice.stderr).toContain("not empty");
      expect((await on(url, "keys", "list")).stdout).toContain(id);
      expectNoPassword(held, copied, twice);
    },
    90_000,
  );
});
