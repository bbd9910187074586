// The bench's side of bench/sink.ts: start the sink process and talk to its control endpoint.
import { join } from "node:path";
import { type Child, cleanEnv, spawnUntil, stopChild } from "./proc.ts";

export interface SinkStats {
  total: number;
  firstAt: number;
  lastAt: number;
  paths: number;
  connections: number;
  /** Receipts of a delivery (path and webhook-id) already received since the last reset. */
  duplicates: number;
  /** total − duplicates: distinct deliveries received. */
  distinct: number;
  /** Connections seen by each receiving port, ascending. */
  connectionsPerPort: number[];
  /** Sum over receiving ports of the most requests each had at once: the connections needed. */
  peakConcurrencySum: number;
  recorded: number;
  listening: number;
  /** path → [receipts, last receive time]. */
  perPath?: Record<string, [number, number]>;
  receipts?: [string, number][];
}

export class Sink {
  private constructor(
    private readonly proc: Child,
    readonly control: string,
  ) {}

  static async start(): Promise<Sink> {
    const { proc, match } = await spawnUntil([process.execPath, join(import.meta.dir, "sink.ts")], {
      cwd: import.meta.dir,
      env: cleanEnv(),
      ready: /"sink_control":"(http:\/\/127\.0\.0\.1:\d+)"/,
      timeoutMs: 15_000,
    });
    return new Sink(proc, match[1] ?? "");
  }

  private async call<T>(path: string, body?: Record<string, unknown>): Promise<T> {
    const res = await fetch(`${this.control}${path}`, {
      method: body ? "POST" : "GET",
      ...(body ? { headers: { "content-type": "application/json" }, body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(30_000),
    });
    if (!res.ok) throw new Error(`sink ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }

  /** Starts `count` receivers on free ports, or on the given ports. */
  async listen(opts: { count?: number; ports?: number[] }): Promise<number[]> {
    return (await this.call<{ ports: number[] }>("/listen", { ...opts })).ports;
  }

  async reserve(count: number): Promise<number[]> {
    return (await this.call<{ ports: number[] }>("/reserve", { count })).ports;
  }

  async close(ports: number[]): Promise<void> {
    await this.call("/close", { ports });
  }

  /** Clears every counter; `record` keeps webhook-id → receive time for latency figures. */
  async reset(record = false): Promise<void> {
    await this.call("/reset", { record });
  }

  async stats(opts: { receipts?: boolean; paths?: boolean } = {}): Promise<SinkStats> {
    const q = `?receipts=${opts.receipts ? 1 : 0}&paths=${opts.paths ? 1 : 0}`;
    return this.call<SinkStats>(`/stats${q}`);
  }

  /** Polls until `done(stats)` or `timeoutMs`; returns the last stats and whether it finished. */
  async waitFor(
    done: (s: SinkStats) => boolean,
    timeoutMs: number,
    everyMs = 20,
    opts: { paths?: boolean } = {},
  ): Promise<{ stats: SinkStats; finished: boolean }> {
    const deadline = Date.now() + timeoutMs;
    let stats = await this.stats(opts);
    while (!done(stats) && Date.now() < deadline) {
      await Bun.sleep(everyMs);
      stats = await this.stats(opts);
    }
    return { stats, finished: done(stats) };
  }

  async stop(): Promise<void> {
    this.proc.stdin.end();
    await stopChild(this.proc, 3_000);
  }
}
