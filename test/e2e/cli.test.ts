// The CLI as an operator uses it, beside a running server that shares the data folder.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import journal from "../../migrations/meta/_journal.json" with { type: "json" };
import { run, startServe } from "../support/process.ts";

const main = join(import.meta.dir, "..", "..", "src", "main.ts");
const cli = (...args: string[]) => [process.execPath, main, ...args];
let cwd: string;

beforeAll(() => {
  cwd = mkdtempSync(join(tmpdir(), "hookline-cli-"));
});
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

test("migrate creates the database and is idempotent", async () => {
  const first = await run(cli("migrate"), { cwd });
  expect(first.code, first.stderr).toBe(0);
  expect(first.stdout).toContain(`applied ${journal.entries.length} migration`);
  const again = await run(cli("migrate"), { cwd });
  expect(again.stdout).toContain("applied 0 migration");
});

test("keys create/list/revoke work while the server runs, and a revocation is honoured within seconds", async () => {
  const { proc, url } = await startServe(cli("serve"), {
    cwd,
    env: { HOOKLINE_ROOT_KEY: "a-root-key-for-this-test-only" },
  });
  try {
    const created = await run(cli("keys", "create", "--tenant", "acme", "--role", "viewer", "--name", "ci"), { cwd });
    expect(created.code, created.stderr).toBe(0);
    // stdout is one line, "<id>\t<key>", so a script gets both: `read -r id key`.
    expect(created.stdout).toMatch(/^key_\w+\thkl_[A-Za-z0-9_-]{43}\n$/);
    const [id, key] = created.stdout.trim().split("\t") as [string, string];
    expect(created.stderr).toContain(`created key ${id} `);
    expect(created.stderr).toContain(`hookline keys revoke ${id}`);

    const ok = await fetch(`${url}/v1/webhooks`, { headers: { "x-api-key": key } });
    expect(ok.status).toBe(200);

    const list = await run(cli("keys", "list"), { cwd });
    expect(list.stdout).toContain(id);
    expect(list.stdout).not.toContain(key);

    const revoked = await run(cli("keys", "revoke", id), { cwd });
    expect(revoked.code).toBe(0);
    // The server caches key lookups for a second; API.md allows up to 10 s for a revocation
    // made by another process.
    const t0 = Date.now();
    let status = 200;
    while (status !== 401 && Date.now() - t0 < 3_000) {
      status = (await fetch(`${url}/v1/webhooks`, { headers: { "x-api-key": key } })).status;
      if (status !== 401) await Bun.sleep(100);
    }
    expect(status).toBe(401);
    expect(Date.now() - t0).toBeLessThan(3_000);
    const again = await run(cli("keys", "revoke", id), { cwd });
    expect(again.code).toBe(2);
  } finally {
    proc.kill("SIGTERM");
  }
  expect(await proc.exited).toBe(0);
}, 30_000);

test("keys create refuses a name with control characters (exit 2, naming name); list escapes old ones", async () => {
  for (const name of ["ops\nkey_forged\t*\tadmin", "a\tb", "esc\u001b[2J", "rtl\u202egnp.exe"]) {
    const res = await run(cli("keys", "create", "--tenant", "acme", "--role", "viewer", "--name", name), { cwd });
    expect(res.code, JSON.stringify(name)).toBe(2);
    expect(res.stderr).toContain("name: must not contain control characters");
    expect(res.stdout).toBe("");
  }
  // A name stored before the rule (written straight into the database) is shown escaped.
  const dir = mkdtempSync(join(cwd, "old-name-"));
  const made = await run(cli("keys", "create", "--tenant", "acme", "--role", "viewer", "--name", "placeholder"), { cwd: dir });
  expect(made.code, made.stderr).toBe(0);
  const { Database } = await import("bun:sqlite");
  const db = new Database(join(dir, "data", "hookline.db"));
  db.run("UPDATE api_keys SET name = ?", ["ops\nkey_forged\tacme"]);
  db.close();
  const list = await run(cli("keys", "list"), { cwd: dir });
  expect(list.stdout.trim().split("\n")).toHaveLength(1);
  expect(list.stdout).toContain('\t"ops\\nkey_forged\\tacme"\n');
});

test("keys create refuses a bad role or tenant with exit 2", async () => {
  const bad = await run(cli("keys", "create", "--tenant", "acme", "--role", "owner"), { cwd });
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain("role:");
  const noTenant = await run(cli("keys", "create", "--role", "admin"), { cwd });
  expect(noTenant.code).toBe(2);
  expect(noTenant.stderr).toContain("tenant_id:");
});

test("HOOKLINE_* env overrides are validated and named", async () => {
  const res = await run(cli("config", "check"), { cwd, env: { HOOKLINE_SERVER_PORT: "eighty" } });
  expect(res.code).toBe(2);
  expect(res.stderr).toContain("server.port (from environment variable HOOKLINE_SERVER_PORT): must be an integer");
});

test("the README's `export HOOKLINE_KEY=…` does not break config check, keys or serve in that shell", async () => {
  const dir = mkdtempSync(join(cwd, "hookline-key-"));
  const env = { HOOKLINE_KEY: "hkl_0123456789abcdef0123456789abcdef0123456789a", HOOKLINE_URL: "http://127.0.0.1:8080" };
  const check = await run(cli("config", "check"), { cwd: dir, env });
  expect(check.code, check.stderr).toBe(0);
  const list = await run(cli("keys", "list"), { cwd: dir, env });
  expect(list.code, list.stderr).toBe(0);
  const typo = await run(cli("config", "check"), { cwd: dir, env: { ...env, HOOKLINE_SERVER_PROT: "9000" } });
  expect(typo.code).toBe(2);
  expect(typo.stderr).toContain("server.prot (from environment variable HOOKLINE_SERVER_PROT): unknown key");
  expect(typo.stderr).not.toContain("HOOKLINE_KEY");
  const { proc, url } = await startServe(cli("serve"), { cwd: dir, env });
  try {
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  } finally {
    proc.kill("SIGTERM");
  }
  expect(await proc.exited).toBe(0);
}, 30_000);

test("a dangerous [auth.jwt] is a config error: exit 2 before any database exists", async () => {
  const dir = mkdtempSync(join(cwd, "jwt-"));
  await Bun.write(join(dir, "hookline.toml"), '[auth.jwt]\nsecret = "0123456789abcdef0123456789abcdef"\nalgorithms = ["RS256"]\n');
  for (const args of [["config", "check"], ["serve"]]) {
    const res = await run(cli(...args), { cwd: dir });
    expect(res.code).toBe(2);
    expect(res.stderr).toContain("auth.jwt.algorithms");
  }
  expect(existsSync(join(dir, "data"))).toBe(false);
});
