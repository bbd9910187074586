// `hookline doctor` as an operator runs it: against a database the real server filled, beside
// the running server and after it stopped. It reports, never changes or creates the database,
// and never prints a key or secret.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import journal from "../../migrations/meta/_journal.json" with { type: "json" };
import { run, startServe } from "../support/process.ts";

const ROOT = "doctor-test-root-key-5f3a9c1e7b2d4a60";
const ENCRYPTION_KEY = randomBytes(32).toString("base64");
const JWT_SECRET = "doctor-test-jwt-secret-0123456789abcdefghij";
const SECRETS = [ROOT, ENCRYPTION_KEY, JWT_SECRET];
const main = join(import.meta.dir, "..", "..", "src", "main.ts");
const cli = (...args: string[]) => [process.execPath, main, ...args];

let dir: string;
let config: string;
let dbPath: string;
let sink: ReturnType<typeof Bun.serve>;
const received = { ok: 0, fail: 0 };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "hookline-doctor-"));
  dbPath = join(dir, "data", "hookline.db");
  config = join(dir, "hookline.toml");
  sink = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      await req.text();
      if (new URL(req.url).pathname === "/fail") {
        received.fail++;
        return new Response(null, { status: 500 });
      }
      received.ok++;
      return new Response(null, { status: 204 });
    },
  });
  await Bun.write(
    config,
    `[server]
port = 0
[database]
path = "${dbPath}"
synchronous = "normal"
[rate_limit]
per_minute = 0
[delivery]
timeout = "2s"
retry_schedule = ["1h"]
jitter = 0
[security]
allow_http = true
allow_private_networks = true
encryption_key = "${ENCRYPTION_KEY}"
[auth.jwt]
secret = "${JWT_SECRET}"
[[event_types]]
name = "order.created"
`,
  );
});

afterAll(async () => {
  await sink.stop(true);
  rmSync(dir, { recursive: true, force: true });
});

const env = { HOOKLINE_ROOT_KEY: ROOT };
const headers = { authorization: `Bearer ${ROOT}`, "content-type": "application/json" };

function expectNoSecrets(out: { stdout: string; stderr: string }) {
  for (const secret of SECRETS) {
    expect(out.stdout).not.toContain(secret);
    expect(out.stderr).not.toContain(secret);
  }
}

function line(stdout: string, name: string): string {
  const found = stdout.split("\n").find((l) => l.startsWith(`${name}: `));
  expect(found, `a "${name}:" line in:\n${stdout}`).toBeDefined();
  return found as string;
}

async function post(url: string, path: string, body: unknown): Promise<Response> {
  return fetch(`${url}${path}`, { method: "POST", headers, body: JSON.stringify(body) });
}

test("doctor reports the database and the config, beside the server and after it, and changes nothing", async () => {
  const server = await startServe(cli("serve", "--config", config), { cwd: dir, env });
  try {
    const sinkUrl = `http://127.0.0.1:${sink.port}`;
    const ok = await post(server.url, "/v1/webhooks", { tenant_id: "acme", url: `${sinkUrl}/ok`, events: ["order.*"] });
    expect(ok.status).toBe(201);
    const failing = await post(server.url, "/v1/webhooks", { tenant_id: "acme", url: `${sinkUrl}/fail`, events: ["order.*"] });
    expect(failing.status).toBe(201);
    const off = await post(server.url, "/v1/webhooks", {
      tenant_id: "acme",
      url: `${sinkUrl}/off`,
      events: ["order.*"],
      enabled: false,
    });
    expect(off.status).toBe(201);
    const key = await post(server.url, "/v1/keys", { tenant_id: "acme", role: "viewer", name: "dashboard" });
    expect(key.status).toBe(201);
    for (let i = 0; i < 3; i++) {
      const res = await post(server.url, "/v1/events", { tenant_id: "acme", type: "order.created", data: { n: i } });
      expect(res.status).toBe(202);
    }
    const deadline = Date.now() + 10_000;
    while ((received.ok < 3 || received.fail < 3) && Date.now() < deadline) await Bun.sleep(25);
    expect(received).toEqual({ ok: 3, fail: 3 });

    // Beside the running server (through its WAL).
    const live = await run(cli("doctor", "--config", config), { cwd: dir, env });
    expect(live.code, live.stderr).toBe(0);
    expect(line(live.stdout, "database")).toBe(`database: ${dbPath}`);
    expect(line(live.stdout, "events")).toBe("events: 3");
    expect(line(live.stdout, "journal mode")).toBe("journal mode: wal");
    expectNoSecrets(live);
  } finally {
    server.proc.kill("SIGTERM");
  }
  expect(await server.proc.exited).toBe(0);

  // After a clean stop: the file alone, no -wal or -shm.
  const files = () => readdirSync(join(dir, "data")).sort();
  const before = { files: files(), size: statSync(dbPath).size, mtimeMs: statSync(dbPath).mtimeMs };
  const res = await run(cli("doctor", "--config", config), { cwd: dir, env });
  expect(res.code, res.stderr).toBe(0);
  expectNoSecrets(res);
  const out = res.stdout;
  const latest = journal.entries.at(-1)?.tag;
  expect(line(out, "database")).toBe(`database: ${dbPath}`);
  expect(line(out, "file size")).toBe(`file size: ${(before.size / 1e6).toFixed(1)} MB (${before.size} bytes)`);
  expect(line(out, "wal size")).toBe("wal size: 0.0 MB (0 bytes)");
  expect(line(out, "pages")).toMatch(/^pages: \d+ of 4096 bytes, \d+ free$/);
  expect(line(out, "sqlite version")).toMatch(/^sqlite version: 3\.\d+\.\d+$/);
  expect(line(out, "journal mode")).toBe("journal mode: wal");
  expect(line(out, "migrations")).toBe(
    `migrations: ${journal.entries.length} applied of ${journal.entries.length} known, latest ${latest}; up to date`,
  );
  expect(line(out, "webhooks")).toBe("webhooks: 2 enabled, 1 disabled (manual 1)");
  expect(line(out, "webhook secrets")).toBe("webhook secrets: 3 encrypted, 0 plaintext");
  expect(line(out, "api keys")).toBe("api keys: 1 active, 0 expired, 0 revoked");
  expect(line(out, "events")).toBe("events: 3");
  expect(line(out, "deliveries")).toBe("deliveries: pending 3, delivering 0, succeeded 3, failed 0");
  // The failed first attempts were rescheduled one hour (retry_schedule = ["1h"]) later.
  expect(line(out, "oldest pending delivery")).toMatch(
    /^oldest pending delivery: dlv_\w+, age \d+(ms|s), next attempt \d{4}-\d\d-\d\dT[\d:.]+Z \(in (59m \d+s|59m|1h)\)$/,
  );
  expect(line(out, "next due attempt")).toMatch(/\(in (59m \d+s|59m|1h)\)$/);
  expect(line(out, "leases")).toBe("leases: 0 held (delivering), 0 expired");
  expect(line(out, "config")).toBe(`config: ${config}`);
  expect(line(out, "listen")).toBe("listen: 127.0.0.1:0");
  expect(line(out, "database.synchronous")).toBe("database.synchronous: normal, busy_timeout 5s");
  expect(line(out, "retry policy")).toBe("retry policy: schedule 1h (2 attempts), jitter 0%, timeout 2s, disable after 5d");
  expect(line(out, "rate limit")).toBe("rate limit: off");
  expect(line(out, "security")).toBe(
    "security: allow_http true, allow_private_networks true, allow_cidrs 0, deny_cidrs 0, encryption on",
  );
  expect(line(out, "auth")).toBe("auth: root key set, jwt on");

  // Nothing changed, nothing created beside it.
  expect(files()).toEqual(before.files);
  expect(statSync(dbPath).size).toBe(before.size);
  expect(statSync(dbPath).mtimeMs).toBe(before.mtimeMs);
}, 60_000);

test("doctor does not create a database that does not exist: exit 1", async () => {
  const empty = mkdtempSync(join(dir, "empty-"));
  const res = await run(cli("doctor"), { cwd: empty, env });
  expect(res.code).toBe(1);
  expect(res.stderr).toContain(`no database at ${join(empty, "data", "hookline.db")}`);
  expect(res.stdout).toBe("");
  expectNoSecrets(res);
  expect(readdirSync(empty)).toEqual([]);
});

test("doctor on a file that is not a database: exit 1 with a message, file untouched", async () => {
  const bad = mkdtempSync(join(dir, "bad-"));
  mkdirSync(join(bad, "data"));
  const file = join(bad, "data", "hookline.db");
  writeFileSync(file, "this is not a database, just some text long enough to have a header ".repeat(20));
  const before = statSync(file);
  const res = await run(cli("doctor"), { cwd: bad, env });
  expect(res.code).toBe(1);
  expect(res.stderr).toMatch(/hookline doctor: cannot (open|read) the database .*hookline\.db: /);
  expect(statSync(file).mtimeMs).toBe(before.mtimeMs);
  expect(readdirSync(join(bad, "data"))).toEqual(["hookline.db"]);
  expect(existsSync(`${file}-wal`)).toBe(false);
});
