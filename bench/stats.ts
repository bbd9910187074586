// Small helpers shared by the scenarios: clocks, percentiles, metric records and the table.

/** Epoch milliseconds with sub-millisecond precision; comparable across processes on one host. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Nearest-rank percentile of an ascending array; NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] ?? Number.NaN;
}

export function sortedCopy(values: readonly number[]): number[] {
  return [...values].sort((a, b) => a - b);
}

export type Comparison = "ge" | "le" | "lt";

export interface Target {
  cmp: Comparison;
  value: number;
}

export interface Metric {
  /** Stable name for the JSON line. */
  key: string;
  /** What the table says. */
  name: string;
  value: number;
  unit: string;
  target?: Target;
  /** A short remark printed beside the figure (e.g. "capped at 180 s"). */
  note?: string;
}

export interface ScenarioResult {
  scenario: string;
  metrics: Metric[];
  /** Peak resident set (VmHWM) of the Hookline process (the largest replica's), MiB. */
  rssMb: number;
  /** utime + stime of the Hookline process (all replicas together) during the workload, seconds. */
  cpuS: number;
  /** Hookline processes (replicas on PostgreSQL). */
  replicas: number;
  /** Each replica's figures when there are several. */
  perReplica?: { rssMb: number; cpuS: number }[];
  /** CPU seconds of the PostgreSQL server (postmaster and backends) over the same time. */
  pgCpuS?: number;
  /** Warn/error lines Hookline (every replica) logged during the scenario. */
  warnings: number;
  errors: number;
  /** Scenario-specific extra figures for the JSON line only. */
  extra?: Record<string, unknown>;
  failure?: string;
}

export function passes(value: number, t: Target): boolean {
  if (!Number.isFinite(value)) return false;
  if (t.cmp === "ge") return value >= t.value;
  if (t.cmp === "le") return value <= t.value;
  return value < t.value;
}

const SYMBOL: Record<Comparison, string> = { ge: "≥", le: "≤", lt: "<" };

export function describeTarget(t: Target | undefined, unit: string): string {
  return t ? `${SYMBOL[t.cmp]} ${fmt(t.value)} ${unit}`.trim() : "";
}

export function fmt(n: number): string {
  if (!Number.isFinite(n)) return "n/a";
  const abs = Math.abs(n);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : 2;
  return n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

export function round(n: number, digits = 2): number {
  if (!Number.isFinite(n)) return n;
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** Renders rows as a fixed-width text table. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join("  ").trimEnd();
  const rule = widths.map((w) => "-".repeat(w)).join("  ");
  return [line(header), rule, ...rows.map(line)].join("\n");
}
