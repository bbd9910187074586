// Issue 15, item 11: what Hookline creates in its data folder is owner-only whatever the umask
// (folder 0700; hookline.db, -wal, -shm, the lock and initial-admin-key 0600); a folder that
// already exists keeps its mode (a warning says so); an existing initial-admin-key is never
// overwritten (the start is refused, exit 2). Real `hookline serve` processes, real files.
import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run, startServe } from "../support/process.ts";

const main = join(import.meta.dir, "..", "..", "src", "main.ts");
let dir: string;
const started: { kill(signal?: NodeJS.Signals | number): void; exited: Promise<number> }[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "hookline-modes-"));
});
afterEach(async () => {
  for (const p of started.splice(0)) {
    p.kill("SIGTERM");
    await p.exited;
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const mode = (path: string) => statSync(path).mode & 0o777;

/** `hookline serve` under `umask`, with no root key (so the first start writes initial-admin-key). */
function serveCommand(umask: string): string[] {
  return ["sh", "-c", `umask ${umask} && exec "${process.execPath}" "${main}" serve`];
}

function envFor(data: string): Record<string, string> {
  return { HOOKLINE_DATABASE_PATH: join(data, "hookline.db"), HOOKLINE_SERVER_PORT: "0" };
}

for (const umask of ["000", "022"]) {
  test(`umask ${umask}: a new data folder is 0700, its database files, lock and initial-admin-key 0600`, async () => {
    const data = join(dir, `new-${umask}`, "data");
    const s = await startServe(serveCommand(umask), { cwd: dir, env: envFor(data) });
    started.push(s.proc);
    // A write through the writer thread, so -wal and -shm exist for sure.
    const key = readFileSync(join(data, "initial-admin-key"), "utf8").trim();
    const res = await fetch(`${s.url}/v1/event-types`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "order.created" }),
    });
    expect(res.status).toBe(201);
    expect(mode(data).toString(8)).toBe("700");
    for (const f of ["hookline.db", "hookline.db-wal", "hookline.db-shm", "hookline.db.lock", "initial-admin-key"]) {
      expect(`${f} ${mode(join(data, f)).toString(8)}`).toBe(`${f} 600`);
    }
  }, 30_000);
}

test("an existing data folder keeps its mode, with a warning; the files created in it are 0600", async () => {
  const data = join(dir, "existing");
  mkdirSync(data);
  chmodSync(data, 0o755);
  const s = await startServe(serveCommand("022"), { cwd: dir, env: envFor(data) });
  started.push(s.proc);
  expect(mode(data).toString(8)).toBe("755");
  expect(mode(join(data, "hookline.db")).toString(8)).toBe("600");
  expect(s.output()).toContain(`"path":"${data}","mode":"0755"`);
  expect(s.output()).toContain("is accessible to other users");
}, 30_000);

test("an existing initial-admin-key is not overwritten: the start is refused (exit 2) and no key is made", async () => {
  const data = join(dir, "kept");
  mkdirSync(data, { mode: 0o700 });
  const file = join(data, "initial-admin-key");
  writeFileSync(file, "hkl_the_key_someone_still_needs\n", { mode: 0o600 });
  const refused = await run(serveCommand("022"), { cwd: dir, env: envFor(data) });
  expect(refused.code).toBe(2);
  expect(refused.stderr).toContain(`${file}, but that file already exists; it was not overwritten`);
  expect(refused.stderr).toContain("delete the file and start again");
  expect(refused.stdout).not.toContain("hookline listening");
  expect(readFileSync(file, "utf8")).toBe("hkl_the_key_someone_still_needs\n");
  const db = new Database(join(data, "hookline.db"), { readonly: true });
  expect(db.query<{ n: number }, []>("SELECT count(*) AS n FROM api_keys").get()?.n).toBe(0);
  db.close();

  // The operator deletes it: the next start makes the key and the file.
  rmSync(file);
  const s = await startServe(serveCommand("022"), { cwd: dir, env: envFor(data) });
  started.push(s.proc);
  expect(readFileSync(file, "utf8")).toMatch(/^hkl_\S+\n$/);
  expect(mode(file).toString(8)).toBe("600");
}, 30_000);

test("a link planted as initial-admin-key is not followed: its target stays as it was", async () => {
  const data = join(dir, "planted");
  mkdirSync(data, { mode: 0o700 });
  const target = join(dir, "planted-target");
  writeFileSync(target, "untouched\n");
  symlinkSync(target, join(data, "initial-admin-key"));
  const refused = await run(serveCommand("022"), { cwd: dir, env: envFor(data) });
  expect(refused.code).toBe(2);
  expect(readFileSync(target, "utf8")).toBe("untouched\n");
}, 30_000);
