// `npm run bench`: Hookline's performance figures against the targets (see bench/README.md).
// Knobs: BENCH_SCENARIOS=ingest,e2e,… BENCH_SCALE=0.1 BENCH_SYNC=full|normal|both
// BENCH_STORE=sqlite,postgres BENCH_REPLICAS=1,2
// BENCH_BACKLOG=<deliveries> BENCH_BACKLOG_PUBLISH_S BENCH_BACKLOG_DRAIN_S BENCH_REBUILD=1|0
import { cpus, totalmem } from "node:os";
import { type BenchConfig, parseConfigs } from "./configs.ts";
import { BenchPostgres } from "./postgres.ts";
import { killChildren } from "./proc.ts";
import { type ConfigResults, derive, jsonReport, tableRows } from "./report.ts";
import { type Knobs, runScenario, type Scenario } from "./scenario.ts";
import { backlog } from "./scenarios/backlog.ts";
import { fanout } from "./scenarios/fanout.ts";
import { latency } from "./scenarios/latency.ts";
import { neighbour } from "./scenarios/neighbour.ts";
import { origins } from "./scenarios/origins.ts";
import { e2e, ingest } from "./scenarios/throughput.ts";
import { ensureBinary } from "./server.ts";
import { Sink } from "./sink-client.ts";
import { passes, round, table } from "./stats.ts";

const ALL: Scenario[] = [ingest, e2e, latency, fanout, origins, neighbour, backlog];

function usage(message: string): never {
  console.error(`bench: ${message}`);
  console.error(`scenarios: ${ALL.map((s) => s.name).join(",")}`);
  process.exit(2);
}

function num(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max) usage(`${name}=${raw}: expected a number from ${min} to ${max}`);
  return n;
}

function parse(): { scenarios: Scenario[]; configs: BenchConfig[]; knobs: Knobs; rebuild: string | undefined } {
  const names = (process.env.BENCH_SCENARIOS ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  const unknown = names.filter((n) => !ALL.some((s) => s.name === n));
  if (unknown.length > 0) usage(`unknown scenario(s): ${unknown.join(", ")}`);
  const scenarios = names.length === 0 ? ALL : ALL.filter((s) => names.includes(s.name));
  const configs = parseConfigs(process.env);
  if (typeof configs === "string") usage(configs);
  if (process.env.BENCH_SYNC && !configs.some((c) => c.store === "sqlite")) {
    console.error(`bench: BENCH_SYNC is SQLite's database.synchronous; PostgreSQL runs once (synchronous_commit on)`);
  }
  const scale = num("BENCH_SCALE", 1, 0.001, 100);
  const knobs: Knobs = {
    scale,
    backlog: Math.round(num("BENCH_BACKLOG", Math.round(1_000_000 * scale), 100, 100_000_000)),
    backlogPublishS: num("BENCH_BACKLOG_PUBLISH_S", 90, 1, 3_600),
    backlogDrainS: num("BENCH_BACKLOG_DRAIN_S", 90, 1, 3_600),
    backlogPublishSSet: Boolean(process.env.BENCH_BACKLOG_PUBLISH_S),
  };
  return { scenarios, configs, knobs, rebuild: process.env.BENCH_REBUILD };
}

async function main(): Promise<void> {
  const { scenarios, configs, knobs, rebuild } = parse();
  const started = Date.now();
  const binary = await ensureBinary(rebuild);
  console.error(
    `bench: ${binary}; scenarios ${scenarios.map((s) => s.name).join(",")}; ` +
      `configurations ${configs.map((c) => c.label).join(",")}; scale ${knobs.scale}; backlog ${knobs.backlog}`,
  );
  const all: ConfigResults[] = configs.map((config) => ({ config, results: [] }));
  let pg: BenchPostgres | undefined;
  const sink = await Sink.start();
  try {
    if (configs.some((c) => c.store === "postgres")) {
      pg = await BenchPostgres.start();
      console.error(`bench: PostgreSQL (fsync on) pid ${pg.pid} in ${pg.dir}`);
    }
    // Scenario by scenario, every configuration in turn: the columns compared are minutes apart,
    // not a whole run apart (this VM's speed drifts over an hour).
    for (const s of scenarios) {
      for (const c of all) c.results.push(await runScenario(s, c.config, sink, knobs, pg));
    }
  } finally {
    await sink.stop();
    await pg?.stop();
  }

  const derived = derive(all);
  const { rows, notes } = tableRows(all, derived);
  console.log("");
  console.log(table(["scenario", "figure", "target", ...configs.map((c) => c.label)], rows));
  for (const n of notes) console.log(n);
  console.log("");
  console.log(
    "Load generator, receivers and Hookline share this machine " +
      `(${cpus().length} cores): the figures are a lower bound.`,
  );
  const checked = [
    ...all.flatMap((c) => c.results.flatMap((r) => r.metrics.filter((m) => m.target))),
    ...derived,
  ].filter((m) => m.target);
  const passed = checked.filter((m) => m.target && passes(m.value, m.target)).length;
  const failed = all.flatMap((c) => c.results).filter((r) => r.failure).length;
  console.log(`${passed}/${checked.length} targets met${failed ? `, ${failed} scenario run(s) failed` : ""}.`);
  const json = {
    bench: "hookline",
    binary,
    started_at: new Date(started).toISOString(),
    duration_s: round((Date.now() - started) / 1_000, 1),
    machine: { cpus: cpus().length, cpu_model: cpus()[0]?.model ?? "", mem_mb: Math.round(totalmem() / 2 ** 20) },
    knobs: {
      ...knobs,
      scenarios: scenarios.map((s) => s.name),
      sync: configs.flatMap((c) => (c.sync ? [c.sync] : [])),
      store: [...new Set(configs.map((c) => c.store))],
      replicas: configs.filter((c) => c.store === "postgres").map((c) => c.replicas),
    },
    targets: { met: passed, checked: checked.length },
    ...jsonReport(all, derived),
  };
  console.log(`BENCH_JSON ${JSON.stringify(json)}`);
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    killChildren();
    process.exit(130);
  });
}
process.on("exit", killChildren);

main()
  // Idle keep-alive sockets must not hold the bench open once the figures are out.
  .then(() => process.exit(0))
  .catch((err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    killChildren();
    process.exit(1);
  });
