// One Hookline per port and per database (issue 15, item 7): real `hookline serve` child
// processes. A second one on the same port or database exits 2 at start with a message naming
// it; the lock dies with its process (kill -9); `vacuum` refuses beside a server while backup,
// doctor, keys and secrets encrypt keep working beside it.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "../../src/observability/logger.ts";
import { type RunningServer, startServer } from "../../src/server.ts";
import { StartupError } from "../../src/startup-error.ts";
import { publicResolver, testConfig } from "../support/harness.ts";
import { run, startServe } from "../support/process.ts";

const ROOT = "single-instance-root-key-0123456789";
// 32 bytes, base64: `secrets encrypt` beside the server needs the server to have the same key.
const KEY = Buffer.alloc(32, 7).toString("base64");
const main = join(import.meta.dir, "..", "..", "src", "main.ts");
let dir: string;
const started: { kill(signal?: NodeJS.Signals | number): void; exited: Promise<number> }[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "hookline-single-"));
});
afterEach(async () => {
  for (const p of started.splice(0)) {
    p.kill("SIGKILL");
    await p.exited;
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `hookline serve` on `db` (a path under the test folder) and `port` (0: any). */
async function serve(db: string, port = 0) {
  const s = await startServe([process.execPath, main, "serve"], {
    cwd: dir,
    env: envFor(db, port),
  });
  started.push(s.proc);
  return { ...s, port: Number(new URL(s.url).port) };
}

function envFor(db: string, port = 0): Record<string, string> {
  return {
    HOOKLINE_ROOT_KEY: ROOT,
    HOOKLINE_DATABASE_PATH: join(dir, db),
    HOOKLINE_SERVER_PORT: String(port),
    HOOKLINE_SECURITY_ENCRYPTION_KEY: KEY,
  };
}

const cli = (db: string, ...args: string[]) => run([process.execPath, main, ...args], { cwd: dir, env: envFor(db) });

describe("two `hookline serve` processes", () => {
  test("on the same port: the second exits 2 naming the port, the first keeps serving alone", async () => {
    const first = await serve("a/hookline.db");
    const second = await run([process.execPath, main, "serve"], { cwd: dir, env: envFor("b/hookline.db", first.port) });
    expect(second.code).toBe(2);
    expect(second.stderr).toContain(`cannot listen on 127.0.0.1:${first.port}: the port is already in use`);
    expect(second.stdout).not.toContain("hookline listening");
    // Found before the start did anything: its database was not even created.
    expect(existsSync(join(dir, "b", "hookline.db"))).toBe(false);
    // Every connection still reaches the first (no SO_REUSEPORT sharing).
    for (let i = 0; i < 5; i++) expect((await fetch(`${first.url}/readyz`)).status).toBe(200);
  }, 30_000);

  test("on the same database: the second exits 2 naming the database and its lock file", async () => {
    await serve("c/hookline.db");
    const second = await run([process.execPath, main, "serve"], { cwd: dir, env: envFor("c/hookline.db") });
    expect(second.code).toBe(2);
    const db = join(dir, "c", "hookline.db");
    expect(second.stderr).toContain(`another Hookline is already running on the database ${db}`);
    expect(second.stderr).toContain(`${db}.lock`);
    expect(second.stdout).not.toContain("hookline listening");
  }, 30_000);

  test("after kill -9 of the first, a new one starts on the same database and port", async () => {
    const first = await serve("d/hookline.db");
    expect((await fetch(`${first.url}/healthz`)).status).toBe(200);
    first.proc.kill("SIGKILL");
    await first.proc.exited;
    const next = await serve("d/hookline.db", first.port);
    expect(next.port).toBe(first.port);
    expect((await fetch(`${next.url}/readyz`)).status).toBe(200);
  }, 30_000);
});

describe("the CLI beside a running server", () => {
  test("vacuum refuses (exit 2) and changes nothing; backup, doctor, keys and secrets encrypt work", async () => {
    const db = "e/hookline.db";
    const server = await serve(db);
    const vacuum = await cli(db, "vacuum");
    expect(vacuum.code).toBe(2);
    expect(vacuum.stderr).toContain(`a running Hookline holds ${join(dir, db)}`);
    expect(vacuum.stderr).toContain("stop the server first");
    expect(vacuum.stdout).toBe("");

    const backup = await cli(db, "backup", join(dir, "e", "copy.db"));
    expect(backup.code, backup.stderr).toBe(0);
    const doctor = await cli(db, "doctor");
    expect(doctor.code, doctor.stderr).toBe(0);
    const keys = await cli(db, "keys", "create", "--tenant", "acme", "--role", "viewer", "--name", "beside");
    expect(keys.code, keys.stderr).toBe(0);
    const secrets = await cli(db, "secrets", "encrypt");
    expect(secrets.code, secrets.stderr).toBe(0);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);

    // Once the server is stopped, vacuum runs (and holds the lock meanwhile).
    server.proc.kill("SIGTERM");
    expect(await server.proc.exited).toBe(0);
    const after = await cli(db, "vacuum");
    expect(after.code, after.stderr).toBe(0);
    expect(after.stdout).toStartWith("vacuumed ");
  }, 60_000);

  test("vacuum of a database that does not exist creates no lock file", async () => {
    const none = await cli("f/hookline.db", "vacuum");
    expect(none.code).toBe(1);
    expect(existsSync(join(dir, "f"))).toBe(false);
  });
});

describe("in one process (startServer)", () => {
  const quiet = { logger: createLogger("silent"), resolver: publicResolver };

  test("a refused start leaves nothing behind: the port clash releases the database for the next start", async () => {
    const a = await startServer(testConfig({ server: { port: 0, host: "127.0.0.1" } }, join(dir, "g", "a.db")), quiet);
    const clash = testConfig({ server: { port: a.port, host: "127.0.0.1" } }, join(dir, "g", "b.db"));
    const refused = await startServer(clash, quiet).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(refused).toBeInstanceOf(StartupError);
    expect((refused as StartupError).exitCode).toBe(2);
    expect((refused as Error).message).toContain(`127.0.0.1:${a.port}`);
    // Its lock was given back: b.db starts on another port.
    const b: RunningServer = await startServer({ ...clash, server: { ...clash.server, port: 0 } }, quiet);
    await b.stop();
    // And a stopped server gives its lock back too.
    await a.stop();
    const again = await startServer(testConfig({ server: { port: 0, host: "127.0.0.1" } }, join(dir, "g", "a.db")), quiet);
    await again.stop();
    // The lock leaves one file beside each database, no journal of its own.
    const files = readdirSync(join(dir, "g")).filter((f) => !f.endsWith("-wal") && !f.endsWith("-shm"));
    expect(files.sort()).toEqual(["a.db", "a.db.lock", "b.db", "b.db.lock"]);
  });
});
