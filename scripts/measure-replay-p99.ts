// End-to-end p99 of fresh events at 200/s to a webhook, without and then during a replay of N
// events (default 100,000) to the same webhook (API.md §14: a replay never delays fresh
// deliveries). A real `serve` on a temp SQLite file, events preloaded before the webhook exists
// (so the replay is a backfill), a receiver in this process. Latency: receipt − the event's
// timestamp, in ms.
//
//   bun scripts/measure-replay-p99.ts                 # N=100000, 20 s without replay
//   N=20000 BASE_S=10 bun scripts/measure-replay-p99.ts
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServe } from "../test/support/process.ts";

const ROOT = "bench-root-key-0123456789abcdef";
const N = Number(process.env.N ?? 100_000);
const dir = mkdtempSync(join(tmpdir(), "replay-p99-"));
const fresh: number[] = [];
let phase: "off" | "base" | "replay" = "off";
const lat = { base: [] as number[], replay: [] as number[] };
let replayed = 0;
const rx = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  async fetch(req) {
    const b = JSON.parse(await req.text()) as { timestamp: string; data: { fresh?: "base" | "replay" } };
    // A fresh event is counted once, by the phase that published it; its replayed copy is not.
    const ms = Date.now() - Date.parse(b.timestamp);
    if (b.data.fresh === "replay" || (b.data.fresh === "base" && ms < 60_000 && phase === "base"))
      lat[b.data.fresh].push(ms);
    else if (b.data.fresh === undefined) replayed++;
    return new Response("ok");
  },
});
const srv = await startServe([process.execPath, "--max-http-header-size=65536", "src/main.ts", "serve"], {
  cwd: join(import.meta.dir, ".."),
  env: {
    HOOKLINE_DATABASE_PATH: join(dir, "h.db"),
    HOOKLINE_AUTH_ROOT_KEY: ROOT,
    HOOKLINE_SECURITY_ALLOW_HTTP: "true",
    HOOKLINE_SECURITY_ALLOW_PRIVATE_NETWORKS: "true",
    HOOKLINE_RATE_LIMIT_PER_MINUTE: "100000000",
  },
});
const call = (method: string, path: string, body?: unknown) =>
  fetch(`${srv.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${ROOT}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
for (const name of ["order.created"]) {
  const r = await call("POST", "/v1/event-types", { name, description: "" });
  if (r.status >= 300) throw new Error(`event type ${r.status} ${await r.text()}`);
}
const since = new Date(Date.now() - 1000).toISOString();
let t0 = performance.now();
let next = 0;
await Promise.all(
  Array.from({ length: 32 }, async () => {
    while (next < N) {
      next++;
      const r = await call("POST", "/v1/events", { tenant_id: "acme", type: "order.created", data: { n: next } });
      if (r.status !== 202) throw new Error(`${r.status}`);
    }
  }),
);
console.log(`preloaded ${N} events in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
const wh = (await (
  await call("POST", "/v1/webhooks", { tenant_id: "acme", url: `${rx.url.origin}/hook`, events: ["order.created"] })
).json()) as { id: string };

async function freshLoad(seconds: number, until: () => boolean = () => false) {
  const end = performance.now() + seconds * 1000;
  let sent = 0;
  const start = performance.now();
  const pend: Promise<unknown>[] = [];
  while (performance.now() < end && !until()) {
    const due = start + (sent * 1000) / 200;
    const wait = due - performance.now();
    if (wait > 0) await Bun.sleep(wait);
    pend.push(
      call("POST", "/v1/events", { tenant_id: "acme", type: "order.created", data: { fresh: phase, i: sent } }),
    );
    sent++;
  }
  await Promise.all(pend);
  return sent;
}
const pct = (a: number[], p: number) => {
  const s = [...a].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
};

phase = "base";
const baseSent = await freshLoad(Number(process.env.BASE_S ?? 20));
await Bun.sleep(1000);
phase = "off";
console.log(
  `without replay: ${baseSent} fresh, received ${lat.base.length}, p50 ${pct(lat.base, 50)} ms, p99 ${pct(lat.base, 99)} ms, max ${Math.max(...lat.base)} ms`,
);

const started = (await (
  await call("POST", `/v1/webhooks/${wh.id}/replay`, { since, until: new Date().toISOString() })
).json()) as { id: string };
t0 = performance.now();
let status = "running";
let created = 0;
const poll = (async () => {
  while (status === "running") {
    await Bun.sleep(500);
    const g = (await (await call("GET", `/v1/webhooks/${wh.id}/replays/${started.id}`)).json()) as {
      status: string;
      created: number;
    };
    status = g.status;
    created = g.created;
  }
})();
phase = "replay";
// Fresh load while the replay runs (bounded: 180 s); replay counted done when every replay delivery arrived.
const replaySent = await freshLoad(180, () => replayed >= N);
phase = "off";
await Promise.race([poll, Bun.sleep(2000)]);
console.log(
  `replay: ${created} created, ${replayed} replay deliveries received in ${((performance.now() - t0) / 1000).toFixed(1)} s, status ${status}`,
);
console.log(
  `during replay: ${replaySent} fresh, received ${lat.replay.length}, p50 ${pct(lat.replay, 50)} ms, p99 ${pct(lat.replay, 99)} ms, max ${Math.max(...lat.replay)} ms`,
);
srv.proc.kill("SIGTERM");
await srv.proc.exited;
rx.stop(true);
rmSync(dir, { recursive: true, force: true });
