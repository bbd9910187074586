// Time to first render of the console's webhooks page over a database of 1,000,000 deliveries
// (SQLite): builds the file (the server's own migrations and webhooks, then events, deliveries
// and one attempt each by direct SQL inserts), starts `hookline serve` on it, and opens
// /console/webhooks in Debian's Chromium RUNS times, each in a fresh tab signed in with the root
// key. Reports, from navigation start (performance.now() in the page): the webhooks table
// visible, and every row's health cells (GET /v1/webhooks/{id}/stats over 24 h) filled.
//
//   bun scripts/measure-console-render.ts            # 1,000,000 deliveries, 20 webhooks, 5 runs
//   DELIVERIES=200000 WEBHOOKS=10 RUNS=3 bun scripts/measure-console-render.ts
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BIN_COLUMNS, DURATION_BINS, durationBin, MINUTE_MS } from "../src/domain/stats/rollup.ts";
import { newId } from "../src/lib/ids.ts";
import { launchBrowser } from "../test/support/browser.ts";
import { freePort } from "../test/support/free-port.ts";

const DELIVERIES = Number(process.env.DELIVERIES ?? 1_000_000);
const WEBHOOKS = Number(process.env.WEBHOOKS ?? 20);
const RUNS = Number(process.env.RUNS ?? 5);
const DAYS = 7;
const ROOT = "measure-root-key-0123456789abcdef";
const MAIN = join(import.meta.dir, "..", "src", "main.ts");

const dir = mkdtempSync(join(tmpdir(), "hookline-render-"));
const dbPath = join(dir, "hookline.db");
const port = await freePort();
const origin = `http://127.0.0.1:${port}`;
const env = { ...process.env, HOOKLINE_DATABASE_PATH: dbPath, HOOKLINE_AUTH_ROOT_KEY: ROOT, HOOKLINE_SERVER_PORT: String(port), HOOKLINE_LOG_LEVEL: "error",
  // The webhooks point at a loopback port nothing listens on: every delivery is finished before the server sees it.
  HOOKLINE_SECURITY_ALLOW_HTTP: "true", HOOKLINE_SECURITY_ALLOW_PRIVATE_NETWORKS: "true" };

async function serve(): Promise<ReturnType<typeof Bun.spawn>> {
  const child = Bun.spawn([process.execPath, "--max-http-header-size=65536", MAIN, "serve"], { cwd: dir, env, stdout: "ignore", stderr: "inherit" });
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      if ((await fetch(`${origin}/readyz`)).ok) return child;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error("the server did not become ready in 60 s");
    await Bun.sleep(100);
  }
}

async function call(method: string, path: string, body?: unknown): Promise<Response> {
  const res = await fetch(`${origin}${path}`, { method, headers: { authorization: `Bearer ${ROOT}`, "content-type": "application/json" }, ...(body ? { body: JSON.stringify(body) } : {}) });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res;
}

// 1. The schema and the webhooks through the server itself.
let server = await serve();
// A failure anywhere still stops the server this script started.
process.on("exit", () => server.kill("SIGKILL"));
const hooks: string[] = [];
for (let i = 0; i < WEBHOOKS; i++) {
  const made = (await (await call("POST", "/v1/webhooks", { tenant_id: "acme", url: `http://127.0.0.1:9/render/${i}`, events: ["*"], description: `Endpoint ${i}` })).json()) as { id: string };
  hooks.push(made.id);
}
server.kill("SIGTERM");
await server.exited;

// 2. Events fanned out to every webhook, each delivery finished with one attempt: 95 % 2xx.
const t0 = performance.now();
const db = new Database(dbPath);
db.run("PRAGMA journal_mode = WAL");
db.run("PRAGMA synchronous = OFF");
const insEvent = db.prepare("INSERT INTO events (id, tenant_id, type, payload, created_at) VALUES (?, 'acme', 'member.added', ?, ?)");
const insDelivery = db.prepare(
  "INSERT INTO deliveries (id, event_id, webhook_id, tenant_id, event_type, status, attempts_count, last_status_code, last_error, created_at, updated_at) VALUES (?, ?, ?, 'acme', 'member.added', ?, 1, ?, ?, ?, ?)",
);
const insAttempt = db.prepare("INSERT INTO attempts (delivery_id, n, started_at, duration_ms, status_code, response_body, error) VALUES (?, 1, ?, ?, ?, ?, NULL)");
const now = Date.now();
const events = Math.ceil(DELIVERIES / WEBHOOKS);
const span = DAYS * 86_400_000;
let made = 0;
const rollup = new Map<string, { hook: string; minute: number; succeeded: number; failed: number; bins: number[] }>();
const batch = db.transaction((from: number, to: number) => {
  for (let e = from; e < to; e++) {
    const at = now - span + Math.floor((e / events) * span);
    const eventId = newId("evt", at);
    insEvent.run(eventId, JSON.stringify({ id: eventId, type: "member.added", timestamp: new Date(at).toISOString(), tenant_id: "acme", data: { member_id: `m_${e}` } }), at);
    for (const hook of hooks) {
      if (made >= DELIVERIES) return;
      const ok = made % 20 !== 0;
      const id = newId("dlv", at);
      insDelivery.run(id, eventId, hook, ok ? "succeeded" : "failed", ok ? 200 : 500, ok ? null : "HTTP 500", at, at + 50);
      insAttempt.run(id, at + 10, 20 + (made % 180), ok ? 200 : 500, ok ? "ok" : "receiver exploded");
      // What recordOutcomes keeps beside each attempt: the per-minute roll-up the stats read.
      const minute = Math.floor((at + 10) / MINUTE_MS) * MINUTE_MS;
      const key = `${hook} ${minute}`;
      const row = rollup.get(key) ?? { hook, minute, succeeded: 0, failed: 0, bins: new Array<number>(DURATION_BINS).fill(0) };
      if (ok) row.succeeded++;
      else row.failed++;
      const bin = durationBin(20 + (made % 180));
      row.bins[bin] = (row.bins[bin] ?? 0) + 1;
      rollup.set(key, row);
      made++;
    }
  }
});
for (let e = 0; e < events; e += 5_000) batch(e, Math.min(events, e + 5_000));
const insStats = db.prepare(
  `INSERT INTO attempt_stats (webhook_id, tenant_id, minute, succeeded, retried, failed, ${BIN_COLUMNS.join(", ")})
   VALUES (?, 'acme', ?, ?, 0, ?, ${BIN_COLUMNS.map(() => "?").join(", ")})`,
);
db.transaction(() => {
  for (const r of rollup.values()) insStats.run(r.hook, r.minute, r.succeeded, r.failed, ...r.bins);
})();
db.run("ANALYZE");
db.close();
console.log(`inserted ${made.toLocaleString("en")} deliveries (and attempts) over ${events.toLocaleString("en")} events, ${WEBHOOKS} webhooks, ${DAYS} days, in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

// 3. The server on that file, the page in Chromium.
server = await serve();
const browser = await launchBrowser();
const firstRow: number[] = [];
const allHealth: number[] = [];
try {
  for (let run = 0; run < RUNS; run++) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    // Signed in as the sign-in page does (the tab's sessionStorage); marks taken in the page.
    await page.addInitScript({
      content: `sessionStorage.setItem("hookline.console.credential", ${JSON.stringify(ROOT)});
        window.__marks = {};
        new MutationObserver(() => {
          const rows = document.querySelectorAll("main table tbody tr");
          if (rows.length > 0 && window.__marks.table === undefined) window.__marks.table = performance.now();
          const waiting = [...document.querySelectorAll("main table tbody td.muted")].some((td) => td.textContent === "…");
          if (rows.length > 0 && !waiting && window.__marks.health === undefined) window.__marks.health = performance.now();
        }).observe(document, { subtree: true, childList: true, characterData: true });`,
    });
    await page.goto(`${origin}/console/webhooks?tenant=acme`);
    // Polled over the DevTools protocol (waitForFunction would eval in the page, which its CSP refuses).
    let marks: { table?: number; health?: number } = {};
    for (const deadline = Date.now() + 60_000; marks.health === undefined; await Bun.sleep(50)) {
      if (Date.now() > deadline) throw new Error("the page did not render its webhooks' health in 60 s");
      marks = (await page.evaluate("window.__marks")) as typeof marks;
    }
    if (marks.table === undefined) throw new Error("no table mark");
    const rows = await page.locator("main table tbody tr").count();
    firstRow.push(marks.table);
    allHealth.push(marks.health);
    console.log(`run ${run + 1}: table visible ${marks.table.toFixed(0)} ms, all ${rows} rows' health ${marks.health.toFixed(0)} ms`);
    await context.close();
  }
} finally {
  await browser.close();
  server.kill("SIGTERM");
  await server.exited;
  rmSync(dir, { recursive: true, force: true });
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
console.log(`webhooks table visible: median ${median(firstRow).toFixed(0)} ms, max ${Math.max(...firstRow).toFixed(0)} ms (${RUNS} runs)`);
console.log(`every row's 24 h health: median ${median(allHealth).toFixed(0)} ms, max ${Math.max(...allHealth).toFixed(0)} ms`);
