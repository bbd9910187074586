// What a scenario is, and the harness that gives each one its own fresh Hookline (so each peak
// RSS is its own) — on a fresh SQLite folder, or N replicas on a fresh PostgreSQL database —,
// bounds it in time and collects the servers' /proc figures.
import type { BenchConfig } from "./configs.ts";
import type { BenchPostgres } from "./postgres.ts";
import { Replicas } from "./replicas.ts";
import type { ServerOptions, StoreOptions } from "./server.ts";
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
  /** BENCH_BACKLOG_PUBLISH_S was set: no longer default cap for PostgreSQL (see backlog.ts). */
  backlogPublishSSet: boolean;
}

export interface Ctx {
  /** One server, or the replicas (requests round-robin over them). */
  server: Replicas;
  sink: Sink;
  config: BenchConfig;
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
  budgetMs: (knobs: Knobs, config: BenchConfig) => number;
  run: (ctx: Ctx) => Promise<Outcome>;
}

/** n scaled by BENCH_SCALE, at least `min`. */
export function scaled(n: number, knobs: Knobs, min = 1): number {
  return Math.max(min, Math.round(n * knobs.scale));
}

/** Where the scenario's servers keep their data: a fresh SQLite folder or PostgreSQL database. */
async function storeFor(config: BenchConfig, pg: BenchPostgres | undefined): Promise<StoreOptions> {
  if (config.store === "sqlite") return { kind: "sqlite", sync: config.sync ?? "full" };
  if (pg === undefined) throw new Error("no PostgreSQL cluster started");
  return { kind: "postgres", databaseUrl: await pg.freshDatabase() };
}

export async function runScenario(
  s: Scenario,
  config: BenchConfig,
  sink: Sink,
  knobs: Knobs,
  cluster: BenchPostgres | undefined,
): Promise<ScenarioResult> {
  const pg = config.store === "postgres" ? cluster : undefined;
  const started = Date.now();
  const log = (msg: string) =>
    console.error(`[${config.label}/${s.name} +${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}`);
  const result: ScenarioResult = {
    scenario: s.name,
    metrics: [],
    rssMb: Number.NaN,
    cpuS: Number.NaN,
    warnings: 0,
    errors: 0,
    replicas: config.replicas,
  };
  let server: Replicas | undefined;
  let store: StoreOptions | undefined;
  let pgCpuMark = Number.NaN;
  try {
    store = await storeFor(config, pg);
    const label = `${s.name}-${config.label}`;
    server = await Replicas.start({ store, label, ...(s.delivery ? { delivery: s.delivery } : {}) }, config.replicas);
    // The scenario starts the CPU clocks after its setup: PostgreSQL's with the replicas'.
    if (pg) {
      const db = pg;
      server.onMarkCpu = async () => {
        pgCpuMark = await db.cpuSeconds();
      };
    }
    await sink.reset();
    await server.markCpu();
    log(`hookline at ${server.describe()}`);
    const budget = s.budgetMs(knobs, config);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const outcome = await Promise.race([
      s.run({ server, sink, config, knobs, log }),
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
    if (pg) log(`postgres log tail:\n${pg.logTail().slice(-1_000)}`);
  } finally {
    if (server) {
      if (server.alive) {
        const usage = await server.usage();
        result.rssMb = usage.rssMb;
        result.cpuS = usage.cpuS;
        if (config.replicas > 1) result.perReplica = usage.perReplica;
      } else result.failure ??= "hookline exited during the scenario";
      if (pg) result.pgCpuS = (await pg.cpuSeconds()) - pgCpuMark;
      if (server.setupRetries > 0) result.extra = { ...result.extra, setup_webhook_creates_retried: server.setupRetries };
      result.warnings = server.warnings;
      result.errors = server.errors;
      await server.stop();
    }
    if (pg && store?.kind === "postgres") {
      await pg.drop(store.databaseUrl).catch((err: unknown) => log(`could not drop the database: ${String(err)}`));
    }
  }
  log(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return result;
}
