// What the several-replica tests share: real `hookline serve` processes on one PostgreSQL
// database, and a receiver that records every attempt's start and end so a test can tell
// whether two replicas ever sent one delivery at the same time.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { realServerToml, startServe } from "../support/process.ts";

export const ROOT = "replica-test-root-key-0123456789";
const main = join(import.meta.dir, "..", "..", "src", "main.ts");
export const rootHeaders = { authorization: `Bearer ${ROOT}`, "content-type": "application/json" };

export interface Replica {
  name: string;
  url: string;
  proc: Subprocess<"ignore", "pipe", "pipe">;
  output: () => string;
}

/** The config every replica of a test runs with; `extra` is appended (more TOML sections). */
export function replicaConfig(extra = ""): string {
  return `${realServerToml({ timeout: "2s", concurrency: 64, perWebhookConcurrency: 8, retrySchedule: ["1s", "1s"] })}${extra}`;
}

export class ReplicaSet {
  readonly dir = mkdtempSync(join(tmpdir(), "hookline-replicas-"));
  readonly replicas: Replica[] = [];
  private readonly configPath = join(this.dir, "hookline.toml");

  constructor(
    private readonly databaseUrl: string,
    config: string,
  ) {
    writeFileSync(this.configPath, config);
  }

  async start(name: string): Promise<Replica> {
    const s = await startServe([process.execPath, main, "serve", "--config", this.configPath], {
      cwd: this.dir,
      env: { HOOKLINE_ROOT_KEY: ROOT, HOOKLINE_DATABASE_URL: this.databaseUrl },
      timeoutMs: 30_000,
    });
    const r = { name, ...s };
    this.replicas.push(r);
    return r;
  }

  /** SIGTERM to every replica still running (they are ours: started above), then the temp dir. */
  async stop(): Promise<void> {
    for (const r of this.replicas) if (r.proc.exitCode === null && r.proc.signalCode === null) r.proc.kill("SIGTERM");
    await Promise.all(this.replicas.map((r) => r.proc.exited));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface Attempt {
  key: string;
  start: number;
  end: number;
}

/**
 * A receiver on 127.0.0.1. Paths: `/ok/…` answers 204 after `delayMs`, `/fail/…` answers 500.
 * An attempt is keyed by path + webhook-id (one delivery); requests whose sender died before the
 * answer are recorded as attempts (they overlapped in time) but not as received.
 */
export function attemptSink(delayMs: number) {
  const attempts: Attempt[] = [];
  const received = new Map<string, number>();
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0,
    async fetch(req) {
      const start = performance.now();
      const path = new URL(req.url).pathname;
      const key = `${path} ${req.headers.get("webhook-id") ?? "?"}`;
      await req.text();
      if (path.startsWith("/fail/")) {
        attempts.push({ key, start, end: performance.now() });
        return new Response("no", { status: 500 });
      }
      await Bun.sleep(delayMs);
      attempts.push({ key, start, end: performance.now() });
      if (req.signal.aborted) return new Response(null, { status: 503 });
      received.set(key, (received.get(key) ?? 0) + 1);
      return new Response(null, { status: 204 });
    },
  });
  return { url: `http://127.0.0.1:${server.port}`, attempts, received, stop: () => server.stop(true) };
}

/** Pairs of attempts of one delivery that were in flight at the same time. */
export function overlapping(attempts: readonly Attempt[]): [Attempt, Attempt][] {
  const byKey = new Map<string, Attempt[]>();
  for (const a of attempts) byKey.set(a.key, [...(byKey.get(a.key) ?? []), a]);
  const out: [Attempt, Attempt][] = [];
  for (const list of byKey.values()) {
    const sorted = [...list].sort((x, y) => x.start - y.start);
    for (let i = 1; i < sorted.length; i++) {
      const prev = sorted[i - 1] as Attempt;
      const cur = sorted[i] as Attempt;
      if (cur.start < prev.end) out.push([prev, cur]);
    }
  }
  return out;
}

/** Polls `cond` every 20 ms until it holds or `timeoutMs` passed; whether it held. */
export async function waitUntil(cond: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return true;
    if (Date.now() > deadline) return false;
    await Bun.sleep(20);
  }
}

export async function api(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = rootHeaders) {
  const res = await fetch(`${base}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await res.text();
  return { status: res.status, body: text === "" ? undefined : (JSON.parse(text) as Record<string, unknown>) };
}
