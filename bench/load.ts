// Load generation: concurrent keep-alive publishers, a paced publisher and an API prober.
// Every loop stops at its count or its deadline, whichever comes first. Each request goes to
// the next replica (round-robin) when there are several.
import { within } from "./proc.ts";
import type { Replicas } from "./replicas.ts";
import { TENANT } from "./server.ts";
import { nowMs } from "./stats.ts";

const REQUEST_TIMEOUT_MS = 30_000;

/** A POST /v1/events body whose `data` is about `dataBytes` bytes of JSON. */
export function eventBody(type: string, n: number, dataBytes = 1_024): string {
  const pad = "x".repeat(Math.max(0, dataBytes - 40));
  return `{"tenant_id":"${TENANT}","type":"${type}","data":{"n":${n},"pad":"${pad}"}}`;
}

export interface PublishResult {
  accepted: number;
  failed: number;
  /** Non-202 answers and errors by status code or error name. */
  problems: Record<string, number>;
  startedAt: number;
  /** When the last 202 arrived. */
  lastAcceptedAt: number;
  /** The deadline stopped publishing before `total` were sent. */
  cutShort: boolean;
}

/** Throws when nothing was accepted: the figures would be meaningless. */
export function assertAccepted<T extends PublishResult>(r: T): T {
  if (r.accepted === 0) throw new Error(`no event accepted (answers: ${JSON.stringify(r.problems)})`);
  return r;
}

type OnAccepted = (id: string, sentAt: number) => void;

async function publishOne(
  server: Replicas,
  body: string,
  result: PublishResult,
  onAccepted: OnAccepted | undefined,
): Promise<void> {
  const sentAt = nowMs();
  try {
    const res = await fetch(`${server.nextUrl()}/v1/events`, {
      method: "POST",
      headers: server.headers,
      body,
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    if (res.status === 202) {
      const { id } = (await res.json()) as { id: string };
      result.accepted++;
      result.lastAcceptedAt = nowMs();
      onAccepted?.(id, sentAt);
    } else {
      await res.arrayBuffer();
      result.failed++;
      result.problems[res.status] = (result.problems[res.status] ?? 0) + 1;
    }
  } catch (err) {
    const name = err instanceof Error ? err.name : "error";
    result.failed++;
    result.problems[name] = (result.problems[name] ?? 0) + 1;
  }
}

function emptyResult(): PublishResult {
  return { accepted: 0, failed: 0, problems: {}, startedAt: nowMs(), lastAcceptedAt: 0, cutShort: false };
}

/** `total` events by `concurrency` publishers, each awaiting its answer before the next. */
export async function publishMany(
  server: Replicas,
  opts: {
    total: number;
    concurrency: number;
    type: string;
    deadlineMs: number;
    dataBytes?: number;
    onAccepted?: OnAccepted;
  },
): Promise<PublishResult> {
  const result = emptyResult();
  const stopAt = Date.now() + opts.deadlineMs;
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(opts.concurrency, opts.total) }, async () => {
      while (next < opts.total) {
        if (Date.now() >= stopAt) {
          result.cutShort = true;
          return;
        }
        const n = next++;
        await publishOne(server, eventBody(opts.type, n, opts.dataBytes), result, opts.onAccepted);
      }
    }),
  );
  return result;
}

/** `ratePerS` events per second for `durationMs`, each sent on schedule (at most 512 in flight). */
export async function publishPaced(
  server: Replicas,
  opts: { ratePerS: number; durationMs: number; type: string; onAccepted: OnAccepted },
): Promise<PublishResult & { sent: number; lateMs: number }> {
  const result = { ...emptyResult(), sent: 0, lateMs: 0 };
  const total = Math.floor((opts.ratePerS * opts.durationMs) / 1_000);
  const interval = 1_000 / opts.ratePerS;
  const inflight = new Set<Promise<void>>();
  const t0 = nowMs();
  const hardStop = Date.now() + opts.durationMs * 3;
  for (let i = 0; i < total && Date.now() < hardStop; i++) {
    const due = t0 + i * interval;
    const wait = due - nowMs();
    if (wait > 1) await Bun.sleep(wait);
    result.lateMs = Math.max(result.lateMs, nowMs() - due);
    while (inflight.size >= 512 && Date.now() < hardStop) await Promise.race(inflight);
    const p = publishOne(server, eventBody(opts.type, i), result, opts.onAccepted).finally(() => inflight.delete(p));
    inflight.add(p);
    result.sent++;
  }
  await within(Promise.all(inflight), REQUEST_TIMEOUT_MS, undefined);
  result.cutShort = result.sent < total;
  return result;
}

/** Sequential GETs of `path` every `everyMs` until stop() (or `maxMs`); collects latencies. */
export function probe(server: Replicas, path: string, everyMs: number, maxMs: number) {
  const latencies: number[] = [];
  let failures = 0;
  let stopped = false;
  const done = (async () => {
    const end = Date.now() + maxMs;
    while (!stopped && Date.now() < end) {
      const t = nowMs();
      try {
        const res = await fetch(`${server.nextUrl()}${path}`, { headers: server.headers, signal: AbortSignal.timeout(10_000) });
        await res.arrayBuffer();
        if (res.status === 200) latencies.push(nowMs() - t);
        else failures++;
      } catch {
        failures++;
      }
      await Bun.sleep(everyMs);
    }
  })();
  return {
    latencies,
    failures: () => failures,
    stop: async () => {
      stopped = true;
      await done;
    },
  };
}
