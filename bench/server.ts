// Hookline under test: the compiled binary started with a temp TOML config and a fresh database,
// its URL learnt from the "hookline listening" log line, and its /proc figures.
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Child, cleanEnv, cpuSeconds, spawnUntil, statusMb, stopChild, within } from "./proc.ts";

export const ROOT_KEY = "bench-root-key-0123456789abcdef";
export const TENANT = "bench";
export const REPO = join(import.meta.dir, "..");
export const BINARY = join(REPO, "dist", "hookline");

export type Sync = "full" | "normal";
type TomlValue = string | number | boolean | string[];

/** Where a server keeps its data: a fresh SQLite folder, or a database of the bench's PostgreSQL. */
export type StoreOptions = { kind: "sqlite"; sync: Sync } | { kind: "postgres"; databaseUrl: string };

export interface ServerOptions {
  store: StoreOptions;
  /** Names the CPU profile (BENCH_CPU_PROF). */
  label?: string;
  /** Extra `[delivery]` keys for this scenario, e.g. { timeout: "10s" }. */
  delivery?: Record<string, TomlValue>;
}

// BENCH_SERVER=source runs `bun src/main.ts serve` instead of the binary; BENCH_CPU_PROF=<dir>
// does too, under `bun --cpu-prof`, writing one profile per scenario into <dir> at its exit.
const CPU_PROF_DIR = process.env.BENCH_CPU_PROF;
export const FROM_SOURCE = process.env.BENCH_SERVER === "source" || Boolean(CPU_PROF_DIR);

function serverCommand(configPath: string, label: string): string[] {
  const serve = ["serve", "--config", configPath];
  if (!FROM_SOURCE) return [BINARY, ...serve];
  const main = join(REPO, "src", "main.ts");
  if (!CPU_PROF_DIR) return [process.execPath, main, ...serve];
  const prof = ["--cpu-prof", "--cpu-prof-md", `--cpu-prof-dir=${CPU_PROF_DIR}`, `--cpu-prof-name=${label}`];
  return [process.execPath, ...prof, main, ...serve];
}

/** Newest modification time (ms) of the files the binary is built from. */
function newestSource(): number {
  let newest = 0;
  for (const top of ["src", "migrations", "package.json"]) {
    const root = join(REPO, top);
    if (!existsSync(root)) continue;
    const st = statSync(root);
    const files = st.isDirectory() ? readdirSync(root, { recursive: true, encoding: "utf8" }).map((f) => join(root, f)) : [root];
    for (const f of files.slice(0, 20_000)) newest = Math.max(newest, statSync(f).mtimeMs);
  }
  return newest;
}

/**
 * Uses dist/hookline, building it with `npm run build` when it is missing or older than src/
 * (BENCH_REBUILD=1 always builds, BENCH_REBUILD=0 never does).
 */
export async function ensureBinary(rebuild: string | undefined): Promise<string> {
  if (FROM_SOURCE) return `bun src/main.ts${CPU_PROF_DIR ? ` under --cpu-prof (profiles in ${CPU_PROF_DIR})` : ""}`;
  const exists = existsSync(BINARY);
  const stale = exists && statSync(BINARY).mtimeMs < newestSource();
  if (exists && rebuild !== "1" && (!stale || rebuild === "0")) {
    return `${BINARY} (built ${statSync(BINARY).mtime.toISOString()}${stale ? ", OLDER than src/" : ""})`;
  }
  console.error(`building dist/hookline (npm run build): ${!exists ? "missing" : stale ? "older than src/" : "BENCH_REBUILD=1"}`);
  const p = Bun.spawn([process.execPath, "run", "build"], { cwd: REPO, stdout: "ignore", stderr: "inherit" });
  const code = await within(p.exited, 300_000, -1);
  if (code !== 0) {
    p.kill("SIGKILL");
    throw new Error(`npm run build failed (${code})`);
  }
  return `${BINARY} (built now)`;
}

function toml(v: TomlValue): string {
  if (Array.isArray(v)) return `[${v.map((s) => JSON.stringify(s)).join(", ")}]`;
  return typeof v === "string" ? JSON.stringify(v) : String(v);
}

function configText(dir: string, opts: ServerOptions): string {
  // BENCH_CLIENT=fetch measures Bun's fetch instead of the pooled client (delivery.client).
  const client = process.env.BENCH_CLIENT ? { client: process.env.BENCH_CLIENT } : {};
  const delivery = Object.entries({ ...client, ...opts.delivery }).map(([k, v]) => `${k} = ${toml(v)}`);
  return [
    "[server]",
    'host = "127.0.0.1"',
    "port = 0",
    'shutdown_grace = "1s"',
    // PostgreSQL's URL comes through HOOKLINE_DATABASE_URL (its password stays out of the file);
    // path and synchronous are SQLite's only.
    ...(opts.store.kind === "sqlite"
      ? ["[database]", `path = ${JSON.stringify(join(dir, "hookline.db"))}`, `synchronous = "${opts.store.sync}"`]
      : []),
    "[rate_limit]",
    "per_minute = 0",
    "[delivery]",
    ...delivery,
    "[security]",
    "allow_http = true",
    "allow_private_networks = true",
    "[log]",
    // The URL comes from the info-level "hookline listening" line; the rest is drained.
    'level = "info"',
    "",
  ].join("\n");
}

/** Temp dirs of servers not stopped yet: removed at exit too (an interrupted bench leaves none). */
const liveDirs = new Set<string>();
process.once("exit", () => {
  for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true });
});

interface LogCounts {
  warnings: number;
  errors: number;
}

export class Hookline {
  private cpuMark = 0;

  private constructor(
    private readonly proc: Child,
    readonly url: string,
    private readonly dir: string,
    private readonly tail: () => string,
    private readonly counts: LogCounts,
  ) {}

  /** Warn and error lines Hookline has logged so far. */
  get warnings(): number {
    return this.counts.warnings;
  }

  get errors(): number {
    return this.counts.errors;
  }

  static async start(opts: ServerOptions): Promise<Hookline> {
    const dir = mkdtempSync(join(tmpdir(), "hookline-bench-"));
    liveDirs.add(dir);
    await Bun.write(join(dir, "hookline.toml"), configText(dir, opts));
    const counts: LogCounts = { warnings: 0, errors: 0 };
    try {
      const cmd = serverCommand(join(dir, "hookline.toml"), opts.label ?? "hookline");
      const database: Record<string, string> =
        opts.store.kind === "postgres" ? { HOOKLINE_DATABASE_URL: opts.store.databaseUrl } : {};
      const started = await spawnUntil(cmd, {
        cwd: dir,
        env: cleanEnv({ HOOKLINE_ROOT_KEY: ROOT_KEY, ...database }),
        ready: /"url":"(http:\/\/[^"]+)".*"hookline listening"/,
        timeoutMs: 30_000,
        onLine: (line) => {
          if (line.includes('"level":40')) counts.warnings++;
          else if (line.includes('"level":50') || line.includes('"level":60')) counts.errors++;
        },
      });
      return new Hookline(started.proc, started.match[1] ?? "", dir, started.tail, counts);
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      liveDirs.delete(dir);
      throw err;
    }
  }

  get pid(): number {
    return this.proc.pid;
  }

  get alive(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Starts the CPU clock of the measured workload (setup before it is not billed). */
  async markCpu(): Promise<void> {
    this.cpuMark = await cpuSeconds(this.pid);
  }

  /** Peak RSS so far and CPU since markCpu(). */
  async usage(): Promise<{ rssMb: number; cpuS: number }> {
    return { rssMb: await statusMb(this.pid, "VmHWM"), cpuS: (await cpuSeconds(this.pid)) - this.cpuMark };
  }

  async rssNowMb(): Promise<number> {
    return statusMb(this.pid, "VmRSS");
  }

  logTail(): string {
    return this.tail();
  }

  async stop(): Promise<void> {
    // A profiled server writes its profile on the way out: give it time.
    await stopChild(this.proc, CPU_PROF_DIR ? 60_000 : 5_000);
    rmSync(this.dir, { recursive: true, force: true });
    liveDirs.delete(this.dir);
  }
}
