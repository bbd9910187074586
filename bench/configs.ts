// The configurations one bench run compares, one table column each: SQLite per
// database.synchronous mode (BENCH_SYNC), PostgreSQL per replica count (BENCH_REPLICAS).
// BENCH_STORE=sqlite,postgres BENCH_REPLICAS=1,2 runs sqlite (full), postgres, pg×2.
import type { Sync } from "./server.ts";

export interface BenchConfig {
  /** The table's column and the BENCH_JSON results key: "full", "normal", "postgres", "pg×2". */
  label: string;
  store: "sqlite" | "postgres";
  /** database.synchronous (SQLite only). */
  sync?: Sync;
  replicas: number;
}

const MAX_REPLICAS = 8;

function list(raw: string | undefined): string[] {
  return (raw ?? "").split(",").map((s) => s.trim()).filter(Boolean);
}

export function pgLabel(replicas: number): string {
  return replicas === 1 ? "postgres" : `pg×${replicas}`;
}

/**
 * The configurations from BENCH_STORE (default sqlite), BENCH_REPLICAS (default 1; above 1
 * only with postgres: SQLite is one process) and BENCH_SYNC (SQLite's only; default both
 * modes when only SQLite runs, else full, the durable mode PostgreSQL is compared with).
 * Returns an error message for a usage error.
 */
export function parseConfigs(env: Record<string, string | undefined>): BenchConfig[] | string {
  const stores = [...new Set(list(env.BENCH_STORE))];
  if (stores.length === 0) stores.push("sqlite");
  const badStore = stores.find((s) => s !== "sqlite" && s !== "postgres");
  if (badStore !== undefined) return `BENCH_STORE=${env.BENCH_STORE}: expected sqlite, postgres or both (comma list)`;
  const rawReplicas = list(env.BENCH_REPLICAS);
  const replicas = [...new Set(rawReplicas.length === 0 ? [1] : rawReplicas.map(Number))];
  if (replicas.some((n) => !Number.isInteger(n) || n < 1 || n > MAX_REPLICAS)) {
    return `BENCH_REPLICAS=${env.BENCH_REPLICAS}: expected whole numbers from 1 to ${MAX_REPLICAS} (comma list)`;
  }
  if (!stores.includes("postgres") && replicas.some((n) => n > 1)) {
    return `BENCH_REPLICAS=${env.BENCH_REPLICAS}: several replicas need BENCH_STORE=postgres (SQLite is one process)`;
  }
  const sync = env.BENCH_SYNC || (stores.includes("postgres") ? "full" : "both");
  if (!["full", "normal", "both"].includes(sync)) return `BENCH_SYNC=${sync}: expected full, normal or both`;
  const syncs: Sync[] = sync === "both" ? ["full", "normal"] : [sync as Sync];
  return stores.flatMap((store): BenchConfig[] =>
    store === "sqlite"
      ? syncs.map((s) => ({ label: s, store: "sqlite", sync: s, replicas: 1 }))
      : replicas.map((n) => ({ label: pgLabel(n), store: "postgres", replicas: n })),
  );
}
