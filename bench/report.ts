// The bench's output: one table with a column per configuration (SQLite per synchronous mode,
// PostgreSQL per replica count), the rows derived from comparing columns, and the BENCH_JSON
// results per configuration (results.full and results.normal keep their earlier shape).
import type { BenchConfig } from "./configs.ts";
import { describeTarget, fmt, type Metric, passes, round, type ScenarioResult, type Target } from "./stats.ts";

export interface ConfigResults {
  config: BenchConfig;
  results: ScenarioResult[];
}

/** A figure computed across configurations (e.g. PostgreSQL's e2e rate as a share of SQLite's). */
export interface Derived {
  key: string;
  name: string;
  /** The column it is shown in. */
  label: string;
  value: number;
  unit: string;
  target: Target;
  note: string;
}

function metricOf(runs: ConfigResults | undefined, scenario: string, key: string): Metric | undefined {
  return runs?.results.find((r) => r.scenario === scenario && !r.failure)?.metrics.find((m) => m.key === key);
}

/**
 * The issue's targets that need two columns: PostgreSQL with one replica at least half of
 * SQLite's (full, else the first mode run) end-to-end rate, and N replicas no slower than one.
 */
export function derive(all: readonly ConfigResults[]): Derived[] {
  const sqlite = all.find((c) => c.config.store === "sqlite" && c.config.sync === "full") ?? all.find((c) => c.config.store === "sqlite");
  const pg1 = all.find((c) => c.config.store === "postgres" && c.config.replicas === 1);
  const e2e = (c: ConfigResults | undefined) => metricOf(c, "e2e", "deliveries_per_s")?.value;
  const out: Derived[] = [];
  const ratio = (of: ConfigResults, base: ConfigResults, target: Target) => {
    const a = e2e(of);
    const b = e2e(base);
    if (a === undefined || b === undefined) return;
    out.push({
      key: `e2e_${of.config.label}_vs_${base.config.label}_pct`,
      name: `e2e rate vs ${base.config.label}`,
      label: of.config.label,
      value: (a / b) * 100,
      unit: "%",
      target,
      note: `${fmt(a)} vs ${fmt(b)} dl/s`,
    });
  };
  if (sqlite && pg1) ratio(pg1, sqlite, { cmp: "ge", value: 50 });
  if (pg1) {
    for (const c of all) {
      if (c.config.store === "postgres" && c.config.replicas > 1) ratio(c, pg1, { cmp: "ge", value: 100 });
    }
  }
  return out;
}

function cell(value: number, unit: string, target: Target | undefined, note: string | undefined): string {
  const ok = target ? (passes(value, target) ? " ✓" : " ✗") : "";
  return `${fmt(value)} ${unit}`.trim() + ok + (note ? ` (${note})` : "");
}

/** The table's rows: scenario, figure, target, then one cell per configuration; and footnotes. */
export function tableRows(all: readonly ConfigResults[], derived: readonly Derived[]): { rows: string[][]; notes: string[] } {
  const columns = all.length;
  const rows: string[][] = [];
  const notes: string[] = [];
  const scenarios = [...new Set(all.flatMap((c) => c.results.map((r) => r.scenario)))];
  for (const scenario of scenarios) {
    const results = all.map((c) => c.results.find((r) => r.scenario === scenario));
    const failures = results.map((r, i) => {
      if (!r?.failure) return "";
      notes.push(`[${notes.length + 1}] ${all[i]?.config.label}/${scenario} failed: ${r.failure}`);
      return `FAILED [${notes.length}] ✗`;
    });
    if (failures.some(Boolean)) rows.push([scenario, "FAILED", "", ...failures]);
    // Rows by metric key, in the order they first appear.
    const keys = [...new Set(results.flatMap((r) => r?.metrics.map((m) => m.key) ?? []))];
    for (const key of keys) {
      const metrics = results.map((r) => r?.metrics.find((m) => m.key === key));
      const first = metrics.find((m) => m !== undefined);
      if (first === undefined) continue;
      const target = describeTarget(first.target, first.unit);
      const cells = metrics.map((m) => {
        if (m === undefined) return "";
        const own = describeTarget(m.target, m.unit);
        const note = [m.note, own !== target ? `target ${own}` : ""].filter(Boolean).join("; ");
        return cell(m.value, m.unit, m.target, note || undefined);
      });
      rows.push([scenario, first.name, target, ...cells]);
    }
    const has = (f: (r: ScenarioResult) => boolean) => results.some((r) => r !== undefined && f(r));
    const server = (f: (r: ScenarioResult) => string) => results.map((r) => (r === undefined ? "" : f(r)));
    const several = has((r) => r.replicas > 1);
    rows.push([
      scenario,
      several ? "server peak RSS (largest replica) / CPU (all)" : "server peak RSS / CPU",
      "",
      ...server((r) => `${fmt(r.rssMb)} MiB / ${fmt(r.cpuS)} s`),
    ]);
    if (has((r) => r.pgCpuS !== undefined)) {
      rows.push([scenario, "PostgreSQL server CPU", "", ...server((r) => (r.pgCpuS === undefined ? "" : `${fmt(r.pgCpuS)} s`))]);
    }
    const duplicates = (r: ScenarioResult) => Number(r.extra?.duplicates ?? 0);
    if (has((r) => duplicates(r) > 0)) {
      rows.push([scenario, "deliveries received more than once", "", ...server((r) => String(duplicates(r)))]);
    }
    const retried = (r: ScenarioResult) => Number(r.extra?.setup_webhook_creates_retried ?? 0);
    if (has((r) => r.warnings + r.errors + retried(r) > 0)) {
      const logs = (r: ScenarioResult) =>
        `${r.warnings}/${r.errors}${retried(r) > 0 ? ` (${retried(r)} webhook create(s) answered 500, sent again)` : ""}`;
      rows.push([scenario, `log warn/error${several ? " (all replicas)" : ""}`, "", ...server(logs)]);
    }
  }
  for (const d of derived) {
    const cells = all.map((c) => (c.config.label === d.label ? cell(d.value, d.unit, d.target, d.note) : ""));
    rows.push(["compare", d.name, describeTarget(d.target, d.unit), ...cells]);
  }
  if (columns === 0) rows.push(["", "no configuration ran", "", ""]);
  return { rows, notes };
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
      server: {
        peak_rss_mb: round(r.rssMb, 1),
        cpu_s: round(r.cpuS, 2),
        log_warnings: r.warnings,
        log_errors: r.errors,
        ...(r.replicas > 1
          ? {
              replicas: r.replicas,
              peak_rss_mb_is: "largest replica",
              cpu_s_is: "sum over replicas",
              per_replica: (r.perReplica ?? []).map((u) => ({ peak_rss_mb: round(u.rssMb, 1), cpu_s: round(u.cpuS, 2) })),
            }
          : {}),
        ...(r.pgCpuS !== undefined ? { postgres_cpu_s: round(r.pgCpuS, 2) } : {}),
      },
      ...(r.extra ? { details: r.extra } : {}),
    };
  }
  return out;
}

/** BENCH_JSON's `results` (per configuration label) and `derived`. */
export function jsonReport(all: readonly ConfigResults[], derived: readonly Derived[]): Record<string, unknown> {
  return {
    configurations: all.map((c) => ({
      label: c.config.label,
      store: c.config.store,
      ...(c.config.sync ? { sync: c.config.sync } : {}),
      replicas: c.config.replicas,
    })),
    results: Object.fromEntries(all.map((c) => [c.config.label, jsonResults(c.results)])),
    derived: Object.fromEntries(
      derived.map((d) => [
        d.key,
        { value: round(d.value, 1), unit: d.unit, target: `${d.target.cmp} ${d.target.value}`, ok: passes(d.value, d.target), note: d.note },
      ]),
    ),
  };
}
