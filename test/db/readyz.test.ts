// API.md §9/§10: /readyz is 503 while the database cannot be written, and 200 again by itself
// once it can. Real conditions where this machine allows them (root: an immutable WAL file, a
// full tmpfs); each says so and is skipped where it cannot be made.
import { afterEach, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "../../src/observability/logger.ts";
import { type RunningServer, startServer } from "../../src/server.ts";
import { type Harness, harness, publicResolver, ROOT_KEY, testConfig } from "../support/harness.ts";

let h: Harness | undefined;
const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await h?.close();
  h = undefined;
});

function sh(cmd: string, args: string[]): boolean {
  return spawnSync(cmd, args, { stdio: "ignore" }).status === 0;
}

/** chattr +i works only as root on a file system that has the flag (ext4, xfs, btrfs). */
function canMakeImmutable(): boolean {
  const dir = mkdtempSync(join(tmpdir(), "hookline-chattr-"));
  const file = join(dir, "probe");
  writeFileSync(file, "x");
  const ok = sh("chattr", ["+i", file]);
  if (ok) sh("chattr", ["-i", file]);
  rmSync(dir, { recursive: true, force: true });
  return ok;
}

async function readyz(url: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${url}/readyz`);
  return { status: res.status, body: await res.json() };
}

test("query_only on both connections (the harness's refuseWrites): /readyz 503, then 200", async () => {
  h = await harness({}, { autoDispatch: true });
  const url = new URL((await h.call("GET", "/healthz")).url).origin;
  expect((await readyz(url)).status).toBe(200);
  await h.refuseWrites(true);
  expect(await readyz(url)).toEqual({ status: 503, body: { status: "unavailable", store: "sqlite", checks: { database: false, dispatcher: true } } });
  await h.refuseWrites(false);
  expect((await readyz(url)).status).toBe(200);
});

test.skipIf(!canMakeImmutable())("an immutable WAL file (chattr +i): /readyz 503 and writes 503, then both recover", async () => {
  h = await harness({}, { autoDispatch: true });
  const url = new URL((await h.call("GET", "/healthz")).url).origin;
  expect((await h.call("POST", "/v1/event-types", { body: { name: "order.created" } })).status).toBe(201);
  expect((await readyz(url)).status).toBe(200);
  // Commits append to the WAL through the writer's open descriptor; +i makes those writes fail
  // (EPERM) while the write lock can still be taken, which is all the old probe checked.
  const files = [join(h.dir, "hookline.db"), join(h.dir, "hookline.db-wal")];
  for (const f of files) expect(sh("chattr", ["+i", f])).toBe(true);
  cleanups.push(() => {
    for (const f of files) sh("chattr", ["-i", f]);
  });
  expect(await readyz(url)).toMatchObject({ status: 503, body: { checks: { database: false } } });
  const refused = await h.call("POST", "/v1/events", { body: { tenant_id: "acme", type: "order.created", data: {} } });
  expect(refused.status).toBe(503);
  expect(await refused.json()).toMatchObject({ error: "storage_unavailable" });

  for (const f of files) expect(sh("chattr", ["-i", f])).toBe(true);
  expect((await readyz(url)).status).toBe(200);
  expect((await h.call("POST", "/v1/event-types", { body: { name: "invoice.paid" } })).status).toBe(201);
});

/** A 4 MiB tmpfs (root with CAP_SYS_ADMIN); undefined where mounting is not allowed. */
function smallTmpfs(): string | undefined {
  const dir = mkdtempSync(join(tmpdir(), "hookline-tmpfs-"));
  if (!sh("mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", dir])) {
    rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
  return dir;
}

const mountable = (() => {
  const dir = smallTmpfs();
  if (!dir) return false;
  sh("umount", [dir]);
  rmSync(dir, { recursive: true, force: true });
  return true;
})();

/** Writes to `file` until the file system says ENOSPC. */
function fill(file: string): void {
  const fd = openSync(file, "w");
  try {
    for (const size of [64 * 1024, 512]) {
      const chunk = Buffer.alloc(size, 1);
      try {
        for (;;) writeSync(fd, chunk);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOSPC") throw err;
      }
    }
  } finally {
    closeSync(fd);
  }
}

test.skipIf(!mountable)("a full disk (a filled tmpfs): /readyz 503 and writes 503, then both recover when space returns", async () => {
  const mnt = smallTmpfs() as string;
  cleanups.push(() => {
    sh("umount", ["-l", mnt]);
    rmSync(mnt, { recursive: true, force: true });
  });
  mkdirSync(join(mnt, "data"));
  const config = testConfig({ server: { port: 0, host: "127.0.0.1" } }, join(mnt, "data", "hookline.db"));
  const server: RunningServer = await startServer(config, { logger: createLogger("silent"), resolver: publicResolver });
  cleanups.push(() => server.stop());
  const post = (name: string) =>
    fetch(`${server.url}/v1/event-types`, {
      method: "POST",
      headers: { authorization: `Bearer ${ROOT_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ name }),
    });
  expect((await readyz(server.url)).status).toBe(200);

  fill(join(mnt, "filler"));
  expect(await readyz(server.url)).toMatchObject({ status: 503, body: { checks: { database: false } } });
  const refused = await post("invoice.paid");
  expect(refused.status).toBe(503);
  expect(await refused.json()).toMatchObject({ error: "storage_unavailable" });
  // Still down: a failed write does not make the next probe pass.
  expect((await readyz(server.url)).status).toBe(503);

  rmSync(join(mnt, "filler"));
  expect((await readyz(server.url)).status).toBe(200);
  expect((await post("invoice.paid")).status).toBe(201);
});
