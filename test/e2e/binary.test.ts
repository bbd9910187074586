// The shipped artefact: `bun build --compile` with the flags of `npm run build`, copied alone
// into an empty folder, must start, create its database, and serve /docs with no network.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { expectError } from "../support/expect-error.ts";
import { describePostgres, freshDatabase, postgresTest } from "../support/postgres.ts";
import { run, startServe } from "../support/process.ts";
import { receiver } from "../support/receiver.ts";

const root = join(import.meta.dir, "..", "..");
let work: string;
let binary: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "hookline-bin-"));
  const built = join(work, "build", "hookline");
  // The same command line as `npm run build`, only with another output file.
  const args = pkg.scripts.build.split(/\s+/).slice(1);
  const out = args.indexOf("--outfile");
  args[out + 1] = built;
  const res = await run([process.execPath, ...args], { cwd: root });
  expect(res.code, res.stderr).toBe(0);
  const empty = join(work, "empty");
  mkdirSync(empty);
  binary = join(empty, "hookline");
  copyFileSync(built, binary);
}, 120_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

test("the binary starts alone in an empty folder and serves /healthz, /docs and /openapi.json", async () => {
  const cwd = join(work, "empty");
  const { proc, url } = await startServe([binary, "serve"], { cwd });
  try {
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const docs = await (await fetch(`${url}/docs`)).text();
    expect(docs).toContain("/docs-assets/swagger-init.js");
    expect(docs).not.toMatch(/https?:\/\//);
    expect(await (await fetch(`${url}/docs-assets/swagger-init.js`)).text()).toContain("SwaggerUIBundle");
    const bundle = await fetch(`${url}/docs-assets/swagger-ui-bundle.js`);
    expect(bundle.status).toBe(200);
    // Bun's own header limit is raised in the binary, so headers over 16 KiB get the app's
    // enveloped 431 rather than Bun's bare one.
    const big = await fetch(`${url}/healthz`, { headers: { "x-big": "x".repeat(20_000) } });
    await expectError(big, 431, "request_header_fields_too_large");
    // The binary serves the committed contract, finished like the sources' one.
    const spec = await (await fetch(`${url}/openapi.json`)).json();
    expect(spec).toEqual(JSON.parse(await Bun.file(join(root, "openapi.json")).text()));
    // The database and the first-start admin key file (owner-only) are in ./data.
    expect(existsSync(join(cwd, "data", "hookline.db"))).toBe(true);
    const keyFile = join(cwd, "data", "initial-admin-key");
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const key = (await Bun.file(keyFile).text()).trim();
    const list = await fetch(`${url}/v1/webhooks`, { headers: { authorization: `Bearer ${key}` } });
    expect(list.status).toBe(200);
  } finally {
    proc.kill("SIGTERM");
  }
  expect(await proc.exited).toBe(0);
}, 30_000);

test("config check names a typo'd key and its line, exits 2, and touches no database", async () => {
  const cwd = mkdtempSync(join(work, "cfg-"));
  await Bun.write(join(cwd, "bad.toml"), '[server]\nport = 8080\n\n[delivery]\ntimout = "15s"\n');
  const res = await run([binary, "config", "check", "--config", "bad.toml"], { cwd });
  expect(res.code).toBe(2);
  expect(res.stderr).toContain("delivery.timout");
  expect(res.stderr).toContain("line 5");
  expect(existsSync(join(cwd, "data"))).toBe(false);
  const serve = await run([binary, "serve", "--config", "bad.toml"], { cwd });
  expect(serve.code).toBe(2);
  expect(existsSync(join(cwd, "data"))).toBe(false);
});

test("--version, --help, and an unknown command (usage, exit 2)", async () => {
  const cwd = join(work, "empty");
  const v = await run([binary, "--version"], { cwd });
  expect(v.code).toBe(0);
  expect(v.stdout.trim()).toBe(`hookline ${pkg.version}`);
  const h = await run([binary, "--help"], { cwd });
  expect(h.code).toBe(0);
  expect(h.stdout).toContain("hookline serve");
  const u = await run([binary, "frobnicate"], { cwd });
  expect(u.code).toBe(2);
  expect(u.stderr).toContain("unknown command: frobnicate");
  expect(u.stderr).toContain("Usage:");
});

// Bun.SQL (the PostgreSQL driver) and the embedded migrations-pg/ inside the compiled binary:
// `migrate`, `keys create` and `serve` on PostgreSQL, an event accepted and delivered.
describePostgres("the binary on PostgreSQL", () => {
  postgresTest("migrates, makes a key, serves and delivers, writing nothing to its folder", async () => {
    const url = await freshDatabase();
    const cwd = mkdtempSync(join(work, "pg-"));
    copyFileSync(binary, join(cwd, "hookline"));
    const env = { HOOKLINE_DATABASE_URL: url, HOOKLINE_SECURITY_ALLOW_HTTP: "true", HOOKLINE_SECURITY_ALLOW_PRIVATE_NETWORKS: "true" };
    const migrated = await run([join(cwd, "hookline"), "migrate"], { cwd, env });
    expect(migrated.code, migrated.stderr).toBe(0);
    const made = await run([join(cwd, "hookline"), "keys", "create", "--tenant", "*", "--role", "admin"], { cwd, env });
    expect(made.code, made.stderr).toBe(0);
    const key = made.stdout.trim().split("\t")[1] as string;
    const sink = receiver(204);
    const { proc, url: base } = await startServe([join(cwd, "hookline"), "serve"], { cwd, env });
    try {
      expect(await (await fetch(`${base}/readyz`)).json()).toMatchObject({ status: "ready", store: "postgres" });
      const headers = { authorization: `Bearer ${key}`, "content-type": "application/json" };
      const post = (path: string, body: unknown) => fetch(`${base}${path}`, { method: "POST", headers, body: JSON.stringify(body) });
      expect((await post("/v1/event-types", { name: "order.created" })).status).toBe(201);
      expect((await post("/v1/webhooks", { tenant_id: "acme", url: `${sink.url}/hook`, events: ["*"] })).status).toBe(201);
      const published = await post("/v1/events", { tenant_id: "acme", type: "order.created", data: { n: 1 } });
      expect(published.status).toBe(202);
      await sink.waitFor(1, 10_000);
      expect(sink.received[0]?.headers["webhook-id"]).toBe(((await published.json()) as { id: string }).id);
    } finally {
      proc.kill("SIGTERM");
      await sink.stop();
    }
    expect(await proc.exited).toBe(0);
    expect(readdirSync(cwd)).toEqual(["hookline"]);
  }, 60_000);
});
