// What a scenario is, and the harness that gives each one its own fresh Hookline (so each peak
// RSS is its own), bounds it in time and collects the server's /proc figures.
import { Hookline, type ServerOptions, type Sync } from "./server.ts";
import type { Sink } from "./sink-client.ts";
import type { Metric, ScenarioResult } from "./stats.ts";

export interface Knobs {
  /** BENCH_SCALE: multiplies event and delivery counts (and the latency run's duration). */
  scale: number;
  /** BENCH_BACKLOG: pending deliveries for the backlog scenario. */
  backlog: number;
  /** BENCH_BACKLOG_PUBLISH_S / BENCH_BACKLOG_DRAIN_S: time caps of the backlog phases. */
  backlogPublishS: number;
  backlogDrainS: number;
}

export interface Ctx {
  server: Hookline;
  sink: Sink;
  sync: Sync;
  knobs: Knobs;
  /** Progress line on stderr (kept out of the table). */
  log: (msg: string) => void;
}

export interface Outcome {
  metrics: Metric[];
  extra?: Record<string, unknown>;
}

export interface Scenario {
  name: string;
  /** Extra [delivery] config keys for this scenario. */
  delivery?: ServerOptions["delivery"];
  /** Hard bound of the whole scenario (each phase inside is bounded too). */
  budgetMs: (knobs: Knobs) => number;
  run: (ctx: Ctx) => Promise<Outcome>;
}

/** n scaled by BENCH_SCALE, at least `min`. */
export function scaled(n: number, knobs: Knobs, min = 1): number {
  return Math.max(min, Math.round(n * knobs.scale));
}

export async function runScenario(s: Scenario, sync: Sync, sink: Sink, knobs: Knobs): Promise<ScenarioResult> {
  const started = Date.now();
  const log = (msg: string) => console.error(`[${sync}/${s.name} +${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}`);
  const result: ScenarioResult = { scenario: s.name, metrics: [], rssMb: Number.NaN, cpuS: Number.NaN, warnings: 0, errors: 0 };
  let server: Hookline | undefined;
  try {
    server = await Hookline.start({ sync, label: s.name, ...(s.delivery ? { delivery: s.delivery } : {}) });
    await sink.reset();
    await server.markCpu();
    log(`hookline at ${server.url} (pid ${server.pid})`);
    const budget = s.budgetMs(knobs);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const outcome = await Promise.race([
      s.run({ server, sink, sync, knobs, log }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`over its time budget of ${budget / 1000} s`)), budget);
      }),
    ]).finally(() => clearTimeout(timer));
    result.metrics = outcome.metrics;
    if (outcome.extra) result.extra = outcome.extra;
  } catch (err) {
    result.failure = err instanceof Error ? err.message.split("\n")[0] ?? String(err) : String(err);
    log(`failed: ${err instanceof Error ? err.message : String(err)}`);
    if (server) log(`hookline log tail:\n${server.logTail().slice(-2_000)}`);
  } finally {
    if (server) {
      if (server.alive) Object.assign(result, await server.usage());
      else result.failure ??= "hookline exited during the scenario";
      result.warnings = server.warnings;
      result.errors = server.errors;
      await server.stop();
    }
  }
  log(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return result;
}
