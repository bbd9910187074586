// SIGTERM: stop intake, let in-flight attempts finish within server.shutdown_grace, give the
// unfinished claims back (pending, due now), close SQLite, exit 0.
import { Database } from "bun:sqlite";
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServe } from "../support/process.ts";
import { type Receiver, receiver } from "../support/receiver.ts";

const ROOT = "shutdown-test-root-key-0123456789";
const main = join(import.meta.dir, "..", "..", "src", "main.ts");
let dir: string;
let slow: Receiver;
let fast: Receiver;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "hookline-shutdown-"));
  slow = receiver("hang");
  fast = receiver(200);
});
afterAll(async () => {
  await slow.stop();
  await fast.stop();
  rmSync(dir, { recursive: true, force: true });
});

test("SIGTERM exits 0 within the grace period and releases unfinished claims", async () => {
  const env = {
    HOOKLINE_ROOT_KEY: ROOT,
    HOOKLINE_DATABASE_PATH: join(dir, "hookline.db"),
    HOOKLINE_SERVER_SHUTDOWN_GRACE: "700ms",
    HOOKLINE_DELIVERY_TIMEOUT: "30s",
    HOOKLINE_SECURITY_ALLOW_HTTP: "true",
    HOOKLINE_SECURITY_ALLOW_PRIVATE_NETWORKS: "true",
  };
  const { proc, url } = await startServe([process.execPath, main, "serve"], { cwd: dir, env });
  const headers = { authorization: `Bearer ${ROOT}`, "content-type": "application/json" };
  const post = (path: string, body: unknown) => fetch(`${url}${path}`, { method: "POST", headers, body: JSON.stringify(body) });
  expect((await post("/v1/event-types", { name: "job.done" })).status).toBe(201);
  for (const r of [slow, fast]) {
    expect((await post("/v1/webhooks", { tenant_id: "acme", url: `${r.url}/in`, events: ["job.done"] })).status).toBe(201);
  }
  expect((await post("/v1/events", { tenant_id: "acme", type: "job.done", data: {} })).status).toBe(202);
  await slow.waitFor(1);
  await fast.waitFor(1);

  const t0 = Date.now();
  proc.kill("SIGTERM");
  expect(await proc.exited).toBe(0);
  // The hanging attempt did not hold shutdown hostage beyond the grace period.
  expect(Date.now() - t0).toBeLessThan(3_000);

  const db = new Database(join(dir, "hookline.db"), { readonly: true });
  const rows = db
    .query<{ url: string; status: string; lease: number | null }, []>(
      "SELECT w.url, d.status, d.lease_expires_at AS lease FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id",
    )
    .all();
  db.close();
  const byUrl = Object.fromEntries(rows.map((r) => [r.url, r]));
  expect(byUrl[`${fast.url}/in`]?.status).toBe("succeeded");
  // Released, not left leased: the next start sends it at once.
  expect(byUrl[`${slow.url}/in`]).toMatchObject({ status: "pending", lease: null });
});
