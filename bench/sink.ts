// Webhook receivers for the benchmark, in their own process so their work is not billed to the
// load generator. `bun bench/sink.ts` prints {"sink_control":"http://127.0.0.1:<port>"} and is
// then driven over that loopback control endpoint (see SinkClient in sink-client.ts):
//   POST /listen {ports?: number[], count?: number} → {ports}  start receivers (0 = a free port)
//   POST /reserve {count} → {ports}                            free ports nobody listens on yet
//   POST /close {ports}                                        stop receivers
//   POST /reset {record}                                       clear counters; record ids/times?
//   GET  /stats?receipts=1&paths=1                             counters (and the recordings)
// What a receiver does is chosen by the webhook URL's path: /delay/<ms>/… answers 200 after
// <ms>, /hang/… never answers (until the client gives up, at most HANG_MAX_MS), else 200 at once.
// The sink exits when its stdin closes (the bench died) or after MAX_LIFETIME_MS.
import type { Server } from "bun";

const HANG_MAX_MS = 60_000;
const MAX_LIFETIME_MS = 60 * 60_000;
const MAX_RECORDED = 2_000_000;

const clock = () => performance.timeOrigin + performance.now();

interface Counters {
  total: number;
  firstAt: number;
  lastAt: number;
  /** path → [receipts, last receive time]. */
  perPath: Map<string, [number, number]>;
  /** `${sinkPort}:${clientPort}`: distinct client ports ≈ TCP connections opened. */
  connections: Set<string>;
  record: boolean;
  /** webhook-id → first receive time (epoch ms, sub-ms). */
  receipts: Map<string, number>;
  /** Per receiving port: requests being answered now, and the most there were at once. */
  active: Map<number, { now: number; peak: number }>;
  /** `${port} ${path} ${webhook-id}` of every receipt (one delivery), to count the ones received again. */
  seen: Set<string>;
  duplicates: number;
}

function fresh(record: boolean): Counters {
  return {
    total: 0,
    firstAt: 0,
    lastAt: 0,
    perPath: new Map(),
    connections: new Set(),
    record,
    receipts: new Map(),
    active: new Map(),
    seen: new Set(),
    duplicates: 0,
  };
}

let c = fresh(false);
const servers = new Map<number, Server<undefined>>();

function untilAborted(signal: AbortSignal, maxMs: number): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, maxMs);
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });
}

async function receive(req: Request, server: Server<undefined>): Promise<Response> {
  const at = clock();
  const path = new URL(req.url).pathname;
  const ip = server.requestIP(req);
  if (ip) c.connections.add(`${server.port}:${ip.port}`);
  c.total++;
  if (c.firstAt === 0) c.firstAt = at;
  c.lastAt = at;
  const seen = c.perPath.get(path);
  if (seen) {
    seen[0]++;
    seen[1] = at;
  } else c.perPath.set(path, [1, at]);
  const id = req.headers.get("webhook-id");
  if (c.record && id !== null && !c.receipts.has(id) && c.receipts.size < MAX_RECORDED) c.receipts.set(id, at);
  // One event's deliveries to several webhooks share its webhook-id: the receiving port and the
  // path tell them apart.
  const delivery = `${server.port} ${path} ${id}`;
  if (c.seen.has(delivery)) c.duplicates++;
  else if (c.seen.size < MAX_RECORDED) c.seen.add(delivery);
  const port = server.port ?? 0;
  const counters = c;
  let active = counters.active.get(port);
  if (!active) {
    active = { now: 0, peak: 0 };
    counters.active.set(port, active);
  }
  active.peak = Math.max(active.peak, ++active.now);
  try {
    await req.arrayBuffer();
    const delay = /^\/delay\/(\d+)\//.exec(path);
    if (delay) await Bun.sleep(Number(delay[1]));
    else if (path.startsWith("/hang/")) await untilAborted(req.signal, HANG_MAX_MS);
    return new Response(null, { status: 200 });
  } finally {
    active.now--;
  }
}

function listen(port: number): number {
  const existing = servers.get(port);
  if (port !== 0 && existing) return port;
  const server: Server<undefined> = Bun.serve({
    hostname: "127.0.0.1",
    port,
    // Keep-alive connections stay open between bursts; a hanging request is bounded above.
    idleTimeout: 120,
    fetch: (req) => receive(req, server),
  });
  const actual = server.port ?? port;
  servers.set(actual, server);
  return actual;
}

function reserve(count: number): number[] {
  const ports: number[] = [];
  for (let i = 0; i < Math.min(count, 1_000); i++) {
    const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    ports.push(probe.port);
    probe.stop(true);
  }
  return ports;
}

/** How many connections each receiving port saw, sorted ascending. */
function perPort(): number[] {
  const counts = new Map<string, number>();
  for (const key of c.connections) {
    const port = key.slice(0, key.indexOf(":"));
    counts.set(port, (counts.get(port) ?? 0) + 1);
  }
  return [...counts.values()].sort((a, b) => a - b);
}

function stats(url: URL): Record<string, unknown> {
  const out: Record<string, unknown> = {
    total: c.total,
    firstAt: c.firstAt,
    lastAt: c.lastAt,
    paths: c.perPath.size,
    connections: c.connections.size,
    duplicates: c.duplicates,
    distinct: c.total - c.duplicates,
    connectionsPerPort: perPort(),
    // One connection carries one request at a time: this many were needed at the least.
    peakConcurrencySum: [...c.active.values()].reduce((sum, a) => sum + a.peak, 0),
    recorded: c.receipts.size,
    listening: servers.size,
  };
  if (url.searchParams.get("paths") === "1") out.perPath = Object.fromEntries(c.perPath);
  if (url.searchParams.get("receipts") === "1") out.receipts = [...c.receipts];
  return out;
}

async function body(req: Request): Promise<Record<string, unknown>> {
  const text = await req.text();
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

function numbers(v: unknown): number[] {
  return Array.isArray(v) ? v.filter((x): x is number => typeof x === "number") : [];
}

const control = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  async fetch(req) {
    const url = new URL(req.url);
    try {
      if (req.method === "GET" && url.pathname === "/stats") return Response.json(stats(url));
      const b = await body(req);
      switch (url.pathname) {
        case "/listen": {
          const wanted = numbers(b.ports);
          const count = typeof b.count === "number" ? Math.min(b.count, 1_000) : 0;
          const ports = [...wanted.map(listen), ...Array.from({ length: count }, () => listen(0))];
          return Response.json({ ports });
        }
        case "/reserve":
          return Response.json({ ports: reserve(typeof b.count === "number" ? b.count : 1) });
        case "/close":
          for (const p of numbers(b.ports)) {
            servers.get(p)?.stop(true);
            servers.delete(p);
          }
          return Response.json({ ok: true });
        case "/reset":
          c = fresh(b.record === true);
          return Response.json({ ok: true });
        default:
          return new Response("not found", { status: 404 });
      }
    } catch (err) {
      return new Response(String(err), { status: 500 });
    }
  },
});

console.log(JSON.stringify({ sink_control: `http://127.0.0.1:${control.port}` }));

function shutdown(): never {
  for (const s of servers.values()) s.stop(true);
  control.stop(true);
  process.exit(0);
}

setTimeout(shutdown, MAX_LIFETIME_MS).unref();
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
// The bench holds our stdin open; when it goes away, so do we.
void (async () => {
  for await (const _ of Bun.stdin.stream()) {
    // Nothing is sent on stdin; reading only detects EOF.
  }
  shutdown();
})();
