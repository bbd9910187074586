// `hookline serve` on PostgreSQL (API.md §11): a server not reachable at start is waited for —
// a log line per try, no crash — and the replica starts by itself once it is up; /readyz names
// the store; no first-key file is written (the log says how to make one); a wrong password is
// exit 2 at once. Its own cluster, since it is stopped and started.
import { afterAll, beforeAll, expect } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describePostgres, type PostgresCluster, postgresTest, startPostgres } from "../support/postgres.ts";
import { cleanEnv, run } from "../support/process.ts";

const main = join(import.meta.dir, "..", "..", "src", "main.ts");
let cwd: string;
let cluster: PostgresCluster | undefined;

beforeAll(() => {
  cwd = mkdtempSync(join(tmpdir(), "hookline-pg-serve-"));
});
afterAll(async () => {
  await cluster?.stop();
  rmSync(cwd, { recursive: true, force: true });
});

/** Reads the child's stdout until `pattern` shows up (bounded); everything read so far. */
async function until(reader: { read(): Promise<{ done: boolean; value?: Uint8Array | undefined }> }, seen: { out: string }, pattern: RegExp, timeoutMs = 20_000) {
  const decoder = new TextDecoder();
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(seen.out)) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`no ${pattern} in:\n${seen.out}`);
    const chunk = await Promise.race([reader.read(), Bun.sleep(left).then(() => ({ done: true as const, value: undefined }))]);
    if (chunk.value) seen.out += decoder.decode(chunk.value);
    if (chunk.done && !pattern.test(seen.out)) throw new Error(`the server's output ended without ${pattern}:\n${seen.out}`);
  }
}

/** `hookline serve` on `url`, its output piped (read with until()). */
function serveOn(url: string) {
  return Bun.spawn([process.execPath, main, "serve"], {
    cwd,
    env: cleanEnv({ HOOKLINE_DATABASE_URL: url, HOOKLINE_SERVER_PORT: "0" }),
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
}

describePostgres("serve on PostgreSQL", () => {
  postgresTest(
    "a server down at start is waited for with a line per try; the replica starts once it is up",
    async () => {
      cluster = await startPostgres();
      const url = await cluster.freshDatabase();
      await cluster.down("fast");
      const proc = serveOn(url);
      const seen = { out: "" };
      const reader = proc.stdout.getReader();
      try {
        // Two tries said, each with its reason, the URL without its password and the next wait.
        await until(reader, seen, /not reachable yet; trying again[\s\S]*not reachable yet; trying again/);
        const first = JSON.parse(seen.out.split("\n").find((l) => l.includes("not reachable yet")) ?? "{}");
        expect(first).toMatchObject({ level: 40, attempt: 1, retry_in_ms: 500, database: `postgres://hookline:***@127.0.0.1:${cluster.port}/${url.split("/").pop()}` });
        expect(first.why).toContain("CONNECTION_REFUSED");
        expect(proc.exitCode).toBeNull();

        await cluster.up();
        await until(reader, seen, /"hookline listening"/);
        const listening = JSON.parse(seen.out.split("\n").find((l) => l.includes('"hookline listening"')) ?? "{}");
        expect(listening.database).toContain("postgres://hookline:***@");
        const ready = await fetch(`${listening.url}/readyz`);
        expect(ready.status).toBe(200);
        expect(await ready.json()).toEqual({ status: "ready", store: "postgres", checks: { database: true, dispatcher: true } });
        // No first-key file anywhere (database.path is unused): the log says how to make a key.
        expect(seen.out).toContain("hookline keys create --tenant '*' --role admin");
        expect(existsSync(join(cwd, "data"))).toBe(false);
      } finally {
        proc.kill("SIGTERM");
      }
      expect(await proc.exited).toBe(0);
      expect(seen.out + (await new Response(proc.stderr).text())).not.toContain(cluster.password);
    },
    90_000,
  );

  postgresTest("a wrong password is exit 2 at once, naming database.url and not the password", async () => {
    cluster ??= await startPostgres();
    if (!cluster.running) await cluster.up();
    const url = cluster.url.replace(`:${cluster.password}@`, ":wrong-password@");
    const res = await run([process.execPath, main, "serve"], { cwd, env: { HOOKLINE_DATABASE_URL: url, HOOKLINE_SERVER_PORT: "0" } });
    expect(res.code).toBe(2);
    expect(res.stderr).toContain("check database.url");
    expect(res.stdout + res.stderr).not.toContain("wrong-password");
  });

  postgresTest("SIGTERM while it waits for PostgreSQL stops it with exit 0, not killed by the signal", async () => {
    cluster ??= await startPostgres();
    if (!cluster.running) await cluster.up();
    const url = await cluster.freshDatabase();
    await cluster.down("fast");
    try {
      const proc = serveOn(url);
      const seen = { out: "" };
      await until(proc.stdout.getReader(), seen, /not reachable yet; trying again/);
      proc.kill("SIGTERM");
      expect(await proc.exited).toBe(0);
      expect(await new Response(proc.stderr).text()).toContain("received SIGTERM, stopping before the server started");
    } finally {
      await cluster.up();
    }
  });
});
