// `hookline backup` beside the real server while clients keep publishing: the copy holds every
// event whose 202 came before the backup started, passes integrity_check, never overwrites and
// leaves no .partial. Then `hookline vacuum` on the stopped server, and the compiled binary.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { run, startServe } from "../support/process.ts";

const ROOT = "backup-test-root-key-0123456789abcdef";
const root = join(import.meta.dir, "..", "..");
const main = join(root, "src", "main.ts");
let dir: string;
let config: string;
let dbPath: string;
let sink: ReturnType<typeof Bun.serve>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "hookline-backup-"));
  config = join(dir, "hookline.toml");
  dbPath = join(dir, "data", "hookline.db");
  sink = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response(null, { status: 204 }) });
  await Bun.write(
    config,
    `[server]
port = 0
[database]
path = "${dbPath}"
[rate_limit]
per_minute = 0
[delivery]
timeout = "2s"
[security]
allow_http = true
allow_private_networks = true
[[event_types]]
name = "order.created"
`,
  );
});

afterAll(async () => {
  await sink.stop(true);
  rmSync(dir, { recursive: true, force: true });
});

const cli = (...args: string[]) => [process.execPath, main, ...args, "--config", config];
const env = { HOOKLINE_ROOT_KEY: ROOT };
const headers = { authorization: `Bearer ${ROOT}`, "content-type": "application/json" };

/** `clients` concurrent publishers until stop(); collects the ids answered 202, in answer order. */
function publishers(url: string, clients: number) {
  const accepted: string[] = [];
  let stopped = false;
  let n = 0;
  const loops = Array.from({ length: clients }, async () => {
    while (!stopped) {
      n++;
      const res = await fetch(`${url}/v1/events`, {
        method: "POST",
        headers,
        body: JSON.stringify({ tenant_id: "acme", type: "order.created", data: { n, pad: "x".repeat(1_000) } }),
      });
      if (res.status === 202) accepted.push(((await res.json()) as { id: string }).id);
      else throw new Error(`publish answered ${res.status}: ${await res.text()}`);
    }
  });
  return { accepted, done: Promise.all(loops), stop: () => (stopped = true) };
}

function idsIn(file: string): { ids: Set<string>; integrity: string[]; deliveries: number } {
  const db = new Database(file, { readonly: true });
  try {
    const ids = new Set(db.query<{ id: string }, []>("SELECT id FROM events").all().map((r) => r.id));
    const integrity = db
      .query<{ integrity_check: string }, []>("PRAGMA integrity_check")
      .all()
      .map((r) => r.integrity_check);
    const deliveries = db.query<{ n: number }, []>("SELECT count(*) AS n FROM deliveries").get()?.n ?? 0;
    return { ids, integrity, deliveries };
  } finally {
    db.close();
  }
}

const SUMMARY = /^backup written to (.+) \((\d+\.\d) MB, (\d+) events, (\d+) deliveries\) in \d+\.\d s\n$/;

test("backup while clients publish: every event answered 202 before it started is in a sound copy", async () => {
  const server = await startServe(cli("serve"), { cwd: dir, env });
  const backup = join(dir, "online.db");
  let pub: ReturnType<typeof publishers> | undefined;
  try {
    const hook = await fetch(`${server.url}/v1/webhooks`, {
      method: "POST",
      headers,
      body: JSON.stringify({ tenant_id: "acme", url: `http://127.0.0.1:${sink.port}/sink`, events: ["order.*"] }),
    });
    expect(hook.status).toBe(201);

    pub = publishers(server.url, 8);
    const deadline = Date.now() + 20_000;
    while (pub.accepted.length < 1_500 && Date.now() < deadline) await Bun.sleep(20);
    // Every id in this copy had its 202 before the backup process was even spawned.
    const before = [...pub.accepted];
    expect(before.length).toBeGreaterThanOrEqual(1_500);
    const res = await run(cli("backup", backup), { cwd: dir, env });
    const during = pub.accepted.length - before.length;
    await Bun.sleep(100);
    pub.stop();
    await pub.done;

    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toBe("");
    const m = SUMMARY.exec(res.stdout);
    expect(m, res.stdout).not.toBeNull();
    expect(m?.[1]).toBe(backup);
    expect(during, "publishing went on while the backup ran").toBeGreaterThan(0);

    const copy = idsIn(backup);
    expect(copy.integrity).toEqual(["ok"]);
    expect(before.filter((id) => !copy.ids.has(id))).toEqual([]);
    expect(Number(m?.[3])).toBe(copy.ids.size);
    expect(Number(m?.[4])).toBe(copy.deliveries);
    expect(copy.deliveries).toBe(copy.ids.size); // one webhook: one delivery per event
    expect(Number(m?.[2])).toBeCloseTo(statSync(backup).size / 1e6, 1);
    expect(existsSync(`${backup}.partial`)).toBe(false);
    expect(existsSync(`${backup}-wal`)).toBe(false);
    // The copy is a self-contained file with owner-only permissions.
    expect(statSync(backup).mode & 0o777).toBe(0o600);

    // An existing file is never overwritten, even with the server running.
    const { size, mtimeMs } = statSync(backup);
    const again = await run(cli("backup", backup), { cwd: dir, env });
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`${backup} already exists: refusing to overwrite it`);
    expect(again.stdout).toBe("");
    expect(statSync(backup).size).toBe(size);
    expect(statSync(backup).mtimeMs).toBe(mtimeMs);
    expect(existsSync(`${backup}.partial`)).toBe(false);
  } finally {
    pub?.stop();
    server.proc.kill("SIGTERM");
  }
  expect(await server.proc.exited).toBe(0);
}, 90_000);

test("backup refuses a FILE.partial it did not write, a missing folder, and a missing database", async () => {
  const target = join(dir, "taken.db");
  writeFileSync(`${target}.partial`, "another backup in progress");
  const taken = await run(cli("backup", target), { cwd: dir, env });
  expect(taken.code).toBe(2);
  expect(taken.stderr).toContain(`${target}.partial exists`);
  expect(await Bun.file(`${target}.partial`).text()).toBe("another backup in progress");
  expect(existsSync(target)).toBe(false);

  const noFolder = await run(cli("backup", join(dir, "nope", "x.db")), { cwd: dir, env });
  expect(noFolder.code).toBe(2);
  expect(noFolder.stderr).toContain("does not exist");

  const usage = await run(cli("backup"), { cwd: dir, env });
  expect(usage.code).toBe(2);
  expect(usage.stderr).toContain("usage: hookline backup FILE");

  const empty = mkdtempSync(join(dir, "empty-"));
  const none = await run([process.execPath, main, "backup", "x.db"], { cwd: empty, env });
  expect(none.code).toBe(1);
  expect(none.stderr).toContain("no database at");
  expect(readdirSync(empty)).toEqual([]);
});

test("vacuum on the stopped server prints sizes before and after and leaves an empty WAL", async () => {
  // Free pages to give back: delete most events (their deliveries cascade).
  const db = new Database(dbPath);
  db.run("PRAGMA foreign_keys = ON");
  db.run("DELETE FROM events WHERE rowid % 4 <> 0");
  const remaining = db.query<{ n: number }, []>("SELECT count(*) AS n FROM events").get()?.n ?? 0;
  db.close();
  const sizeBefore = statSync(dbPath).size;

  const res = await run(cli("vacuum"), { cwd: dir, env });
  expect(res.code, res.stderr).toBe(0);
  expect(res.stdout).toMatch(
    /^vacuumed .+hookline\.db: before \d+\.\d MB \+ \d+\.\d MB WAL, after \d+\.\d MB \+ 0\.0 MB WAL in \d+\.\d s\n$/,
  );
  expect(statSync(dbPath).size).toBeLessThan(sizeBefore);
  expect(existsSync(`${dbPath}-wal`) ? statSync(`${dbPath}-wal`).size : 0).toBe(0);
  const after = new Database(dbPath, { readonly: true });
  expect(after.query<{ n: number }, []>("SELECT count(*) AS n FROM events").get()?.n).toBe(remaining);
  expect(after.query<{ quick_check: string }, []>("PRAGMA quick_check").get()?.quick_check).toBe("ok");
  after.close();

  const empty = mkdtempSync(join(dir, "vac-"));
  const none = await run([process.execPath, main, "vacuum"], { cwd: empty, env });
  expect(none.code).toBe(1);
  expect(none.stderr).toContain("no database at");
  expect(readdirSync(empty)).toEqual([]);
}, 30_000);

test("the compiled binary backs up from an empty folder, on a worker thread", async () => {
  const work = mkdtempSync(join(dir, "bin-"));
  // The same command line as `npm run build`, only with another output file.
  const args = pkg.scripts.build.split(/\s+/).slice(1);
  args[args.indexOf("--outfile") + 1] = join(work, "build", "hookline");
  const built = await run([process.execPath, ...args], { cwd: root });
  expect(built.code, built.stderr).toBe(0);
  const empty = join(work, "empty");
  mkdirSync(empty);
  copyFileSync(join(work, "build", "hookline"), join(empty, "hookline"));

  const res = await run([join(empty, "hookline"), "backup", "copy.db", "--config", config], { cwd: empty, env });
  expect(res.code, res.stderr).toBe(0);
  // No "ran without a worker thread" note: the worker started inside the binary.
  expect(res.stderr).toBe("");
  expect(res.stdout).toMatch(SUMMARY);
  expect(idsIn(join(empty, "copy.db")).integrity).toEqual(["ok"]);
  expect(readdirSync(empty).sort()).toEqual(["copy.db", "hookline"]);
}, 120_000);
