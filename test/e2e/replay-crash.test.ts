// A replay survives kill -9 (issue 19, API.md §14): the real server as a child process on a
// SQLite file, killed with SIGKILL while a backfill job is mid-way, restarted on the same file.
// The job goes on from its cursor: every event gets a delivery to the webhook, at most one
// batch's worth twice (a batch is one transaction with the cursor, so in fact none should be),
// and the receiver gets every event.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPLAY_DEFAULTS } from "../../src/delivery/replay-runner.ts";
import { realServerToml, startServe } from "../support/process.ts";

const ROOT = "replay-crash-root-key-0123456789";
const main = join(import.meta.dir, "..", "..", "src", "main.ts");
// The runner does ~950 events/s (REPLAY_DEFAULTS: 100 per batch, 100 ms between batches), so
// 3,000 events are ~30 batches, ~3 s of replay: room to kill it mid-way, the test well under 30 s.
const EVENTS = 3_000;
let dir: string;
let dbPath: string;
let sink: ReturnType<typeof Bun.serve>;
/** webhook-id (the event id) → times answered 2xx, per path. */
const seen = new Map<string, Map<string, number>>();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "hookline-replay-crash-"));
  dbPath = join(dir, "data", "hookline.db");
  sink = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const path = new URL(req.url).pathname;
      const id = req.headers.get("webhook-id") ?? "?";
      await req.text();
      // A sender that died before our answer never saw the 2xx: not a delivery.
      if (req.signal.aborted) return new Response(null, { status: 503 });
      const m = seen.get(path) ?? new Map<string, number>();
      m.set(id, (m.get(id) ?? 0) + 1);
      seen.set(path, m);
      return new Response(null, { status: 204 });
    },
  });
  await Bun.write(
    join(dir, "hookline.toml"),
    realServerToml({ databasePath: dbPath, timeout: "1s", concurrency: 64, perWebhookConcurrency: 16, retrySchedule: ["1s", "1s", "1s"] }),
  );
});

afterAll(async () => {
  await sink.stop(true);
  rmSync(dir, { recursive: true, force: true });
});

function serve() {
  return startServe([process.execPath, main, "serve", "--config", join(dir, "hookline.toml")], {
    cwd: dir,
    env: { HOOKLINE_ROOT_KEY: ROOT },
  });
}

const headers = { authorization: `Bearer ${ROOT}`, "content-type": "application/json" };

async function call(base: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await res.text();
  return { status: res.status, body: (text === "" ? undefined : JSON.parse(text)) as Record<string, unknown> };
}

/** `clients` concurrent publishers of `count` events for tenant acme; the 202s' ids. */
async function publish(base: string, count: number, clients: number): Promise<string[]> {
  const ids: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < count) {
        const n = next++;
        const res = await call(base, "POST", "/v1/events", { tenant_id: "acme", type: "order.created", data: { n } });
        expect(res.status).toBe(202);
        ids.push(res.body.id as string);
      }
    }),
  );
  return ids;
}

/** Polls `cond` every 20 ms until it holds or `timeoutMs` passed; whether it held. */
async function waitUntil(cond: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return true;
    if (Date.now() > deadline) return false;
    await Bun.sleep(20);
  }
}

interface Replay {
  status: string;
  matched: number;
  created: number;
  skipped: number;
}

test("a replay interrupted by kill -9 finishes after restart without duplicating more than one batch", async () => {
  let server = await serve();
  const since = new Date(Date.now() - 1_000).toISOString();
  const published = await publish(server.url, EVENTS, 16);
  expect(published.length).toBe(EVENTS);

  // The webhook comes after the events (a backfill): none of them has a delivery yet.
  const wh = await call(server.url, "POST", "/v1/webhooks", {
    tenant_id: "acme",
    url: `http://127.0.0.1:${sink.port}/replayed`,
    events: ["order.*"],
  });
  expect(wh.status).toBe(201);
  const webhookId = wh.body.id as string;
  const started = await call(server.url, "POST", `/v1/webhooks/${webhookId}/replay`, { since });
  expect(started.status).toBe(202);
  const replayId = started.body.id as string;
  const replayPath = `/v1/webhooks/${webhookId}/replays/${replayId}`;

  // Mid-way: some batches committed, not all. A quarter in leaves ~2 s of replay to cut.
  let before: Replay | undefined;
  const midway = await waitUntil(async () => {
    const r = await call(server.url, "GET", replayPath);
    before = r.body as unknown as Replay;
    return before.created >= EVENTS / 4;
  }, 20_000);
  expect(midway).toBe(true);
  server.proc.kill("SIGKILL");
  await server.proc.exited;
  expect(before?.status, "killed while the job was running").toBe("running");
  expect(before?.created ?? 0).toBeLessThan(EVENTS);

  // What the kill left: the job still running in the file, short of the end.
  const atKill = new Database(dbPath, { readonly: true });
  const left = atKill.query<Replay, [string]>("SELECT status, matched, created, skipped FROM replay_jobs WHERE id = ?").get(replayId);
  atKill.close();
  expect(left?.status).toBe("running");
  expect(left?.created ?? EVENTS).toBeLessThan(EVENTS);

  server = await serve();
  let after: Replay | undefined;
  const done = await waitUntil(async () => {
    after = (await call(server.url, "GET", replayPath)).body as unknown as Replay;
    return after.status !== "running";
  }, 30_000);
  expect(done).toBe(true);
  expect(after?.status).toBe("done");
  expect(after?.matched).toBe((after?.created ?? 0) + (after?.skipped ?? 0));
  expect(after?.skipped).toBe(0);

  // The receiver gets every event (deliveries claimed at the kill come back after their lease).
  const got = () => seen.get("/replayed") ?? new Map<string, number>();
  await waitUntil(() => published.every((id) => got().has(id)), 30_000);
  expect(published.filter((id) => !got().has(id))).toEqual([]);

  server.proc.kill("SIGTERM");
  expect(await server.proc.exited).toBe(0);

  const db = new Database(dbPath, { readonly: true });
  const perEvent = db
    .query<{ event_id: string; n: number }, [string]>(
      "SELECT event_id, count(*) AS n FROM deliveries WHERE webhook_id = ? GROUP BY event_id",
    )
    .all(webhookId);
  db.close();
  const deliveries = new Map(perEvent.map((r) => [r.event_id, r.n]));
  expect(published.filter((id) => !deliveries.has(id)), "events without a delivery to the webhook").toEqual([]);
  expect(deliveries.size, "deliveries only for the published events").toBe(EVENTS);
  const twice = perEvent.filter((r) => r.n > 1).length;
  expect(twice, "events given more than one delivery").toBeLessThanOrEqual(REPLAY_DEFAULTS.batchSize);
  // The job's counts say the same: each matched event counted once.
  expect(after?.matched).toBe(EVENTS + twice);
  console.log(
    `replay-crash: killed at created=${before?.created} (file: ${left?.created}); done matched=${after?.matched} created=${after?.created}; events delivered twice by the job: ${twice}; receiver answered ${[...got().values()].reduce((a, b) => a + b, 0)} times for ${EVENTS} events`,
  );
}, 90_000);
