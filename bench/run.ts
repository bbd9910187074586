// `npm run bench`: Hookline's performance figures against the targets (see bench/README.md).
// Knobs: BENCH_SCENARIOS=ingest,e2e,… BENCH_SCALE=0.1 BENCH_SYNC=full|normal|both
// BENCH_BACKLOG=<deliveries> BENCH_BACKLOG_PUBLISH_S BENCH_BACKLOG_DRAIN_S BENCH_REBUILD=1|0
import { cpus, totalmem } from "node:os";
import { killChildren } from "./proc.ts";
import { type Knobs, runScenario, type Scenario } from "./scenario.ts";
import { backlog } from "./scenarios/backlog.ts";
import { fanout } from "./scenarios/fanout.ts";
import { latency } from "./scenarios/latency.ts";
import { neighbour } from "./scenarios/neighbour.ts";
import { origins } from "./scenarios/origins.ts";
import { e2e, ingest } from "./scenarios/throughput.ts";
import { ensureBinary, type Sync } from "./server.ts";
import { Sink } from "./sink-client.ts";
import { passes, resultRows, round, type ScenarioResult, table } from "./stats.ts";

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

function parse(): { scenarios: Scenario[]; syncs: Sync[]; knobs: Knobs; rebuild: string | undefined } {
  const names = (process.env.BENCH_SCENARIOS ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  const unknown = names.filter((n) => !ALL.some((s) => s.name === n));
  if (unknown.length > 0) usage(`unknown scenario(s): ${unknown.join(", ")}`);
  const scenarios = names.length === 0 ? ALL : ALL.filter((s) => names.includes(s.name));
  const sync = process.env.BENCH_SYNC ?? "both";
  if (!["full", "normal", "both"].includes(sync)) usage(`BENCH_SYNC=${sync}: expected full, normal or both`);
  const syncs: Sync[] = sync === "both" ? ["full", "normal"] : [sync as Sync];
  const scale = num("BENCH_SCALE", 1, 0.001, 100);
  const knobs: Knobs = {
    scale,
    backlog: Math.round(num("BENCH_BACKLOG", Math.round(1_000_000 * scale), 100, 100_000_000)),
    backlogPublishS: num("BENCH_BACKLOG_PUBLISH_S", 90, 1, 3_600),
    backlogDrainS: num("BENCH_BACKLOG_DRAIN_S", 90, 1, 3_600),
  };
  return { scenarios, syncs, knobs, rebuild: process.env.BENCH_REBUILD };
}

function jsonResults(results: readonly ScenarioResult[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const r of results) {
    const metrics: Record<string, unknown> = {};
    for (const m of r.metrics) {
      metrics[m.key] = {
        value: round(m.value, 2),
        unit: m.unit,
        ...(m.target ? { target: `${m.target.cmp} ${m.target.value}`, ok: passes(m.value, m.target) } : {}),
        ...(m.note ? { note: m.note } : {}),
      };
    }
    out[r.scenario] = {
      ...(r.failure ? { failure: r.failure } : {}),
      metrics,
      server: { peak_rss_mb: round(r.rssMb, 1), cpu_s: round(r.cpuS, 2), log_warnings: r.warnings, log_errors: r.errors },
      ...(r.extra ? { details: r.extra } : {}),
    };
  }
  return out;
}

async function main(): Promise<void> {
  const { scenarios, syncs, knobs, rebuild } = parse();
  const started = Date.now();
  const binary = await ensureBinary(rebuild);
  console.error(`bench: ${binary}; scenarios ${scenarios.map((s) => s.name).join(",")}; sync ${syncs.join(",")}; ` +
    `scale ${knobs.scale}; backlog ${knobs.backlog}`);
  const sink = await Sink.start();
  const bySync: Partial<Record<Sync, ScenarioResult[]>> = {};
  try {
    for (const sync of syncs) {
      const results: ScenarioResult[] = [];
      for (const s of scenarios) results.push(await runScenario(s, sync, sink, knobs));
      bySync[sync] = results;
    }
  } finally {
    await sink.stop();
  }

  const rows = syncs.flatMap((sync) => resultRows(sync, bySync[sync] ?? []));
  console.log("");
  console.log(table(["sync", "scenario", "figure", "value", "target", ""], rows));
  console.log("");
  console.log(
    "Load generator, receivers and Hookline share this machine " +
      `(${cpus().length} cores): the figures are a lower bound.`,
  );
  const all = syncs.flatMap((sync) => bySync[sync] ?? []);
  const checked = all.flatMap((r) => r.metrics.filter((m) => m.target));
  const passed = checked.filter((m) => m.target && passes(m.value, m.target)).length;
  const failed = all.filter((r) => r.failure).length;
  console.log(`${passed}/${checked.length} targets met${failed ? `, ${failed} scenario run(s) failed` : ""}.`);
  const json = {
    bench: "hookline",
    binary,
    started_at: new Date(started).toISOString(),
    duration_s: round((Date.now() - started) / 1_000, 1),
    machine: { cpus: cpus().length, cpu_model: cpus()[0]?.model ?? "", mem_mb: Math.round(totalmem() / 2 ** 20) },
    knobs: { ...knobs, scenarios: scenarios.map((s) => s.name), sync: syncs },
    targets: { met: passed, checked: checked.length },
    results: Object.fromEntries(syncs.map((sync) => [sync, jsonResults(bySync[sync] ?? [])])),
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
