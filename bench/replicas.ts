// The Hookline a scenario talks to: one server on SQLite, or N replicas on one PostgreSQL
// database. Publishers and API calls go round-robin over the replicas' URLs; the /proc figures
// and log counts cover every replica (peak RSS the largest replica's, CPU the sum).
import { Hookline, ROOT_KEY, type ServerOptions, TENANT } from "./server.ts";

/**
 * A change made through one replica reaches the others' caches within 1 s (API.md §11): after
 * creating event types or webhooks, wait this long before load that another replica takes.
 */
const CACHE_SETTLE_MS = 1_200;

export interface Usage {
  /** The largest replica's peak RSS (each replica is a process with its own memory budget). */
  rssMb: number;
  /** CPU seconds of all replicas together since markCpu(). */
  cpuS: number;
  perReplica: { rssMb: number; cpuS: number }[];
}

export class Replicas {
  private turn = 0;
  /** Webhook creations answered 500 and sent again (see webhooks()). */
  setupRetries = 0;
  /** Called by markCpu() too: another clock that starts with the replicas' (PostgreSQL's). */
  onMarkCpu: (() => Promise<void>) | undefined;

  private constructor(readonly all: readonly Hookline[]) {}

  /** Starts `count` servers with the same options, one after the other (the first migrates). */
  static async start(opts: ServerOptions, count: number): Promise<Replicas> {
    const started: Hookline[] = [];
    try {
      for (let i = 0; i < count; i++) {
        const label = count > 1 ? `${opts.label ?? "hookline"}-r${i + 1}` : opts.label;
        started.push(await Hookline.start({ ...opts, ...(label ? { label } : {}) }));
      }
    } catch (err) {
      await Promise.all(started.map((h) => h.stop()));
      throw err;
    }
    return new Replicas(started);
  }

  get count(): number {
    return this.all.length;
  }

  /** The next replica's base URL (round-robin): every publish and API call takes one. */
  nextUrl(): string {
    const h = this.all[this.turn++ % this.all.length];
    return h?.url ?? "";
  }

  describe(): string {
    return this.all.map((h) => `${h.url} (pid ${h.pid})`).join(", ");
  }

  get alive(): boolean {
    return this.all.every((h) => h.alive);
  }

  get warnings(): number {
    return this.all.reduce((n, h) => n + h.warnings, 0);
  }

  get errors(): number {
    return this.all.reduce((n, h) => n + h.errors, 0);
  }

  async markCpu(): Promise<void> {
    await Promise.all([...this.all.map((h) => h.markCpu()), this.onMarkCpu?.()]);
  }

  async usage(): Promise<Usage> {
    const perReplica = await Promise.all(this.all.map((h) => h.usage()));
    return {
      rssMb: Math.max(...perReplica.map((u) => u.rssMb)),
      cpuS: perReplica.reduce((n, u) => n + u.cpuS, 0),
      perReplica,
    };
  }

  /** The largest replica's RSS now. */
  async rssNowMb(): Promise<number> {
    return Math.max(...(await Promise.all(this.all.map((h) => h.rssNowMb()))));
  }

  logTail(): string {
    if (this.all.length === 1) return this.all[0]?.logTail() ?? "";
    return this.all.map((h, i) => `--- replica ${i + 1} ---\n${h.logTail().slice(-1_000)}`).join("\n");
  }

  async stop(): Promise<void> {
    await Promise.all(this.all.map((h) => h.stop()));
  }

  /** Lets the other replicas' caches see a change just made (nothing to wait for with one). */
  async settle(): Promise<void> {
    if (this.all.length > 1) await Bun.sleep(CACHE_SETTLE_MS);
  }

  // ---- API -------------------------------------------------------------------------------

  readonly headers = { authorization: `Bearer ${ROOT_KEY}`, "content-type": "application/json" };

  async api<T>(method: string, path: string, body?: unknown, okStatus: number[] = [200, 201, 202]): Promise<T> {
    const res = await fetch(`${this.nextUrl()}${path}`, {
      method,
      headers: this.headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    if (!okStatus.includes(res.status)) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 500)}`);
    return (text ? JSON.parse(text) : {}) as T;
  }

  /** One unlabelled figure from /metrics (a counter or gauge) summed over the replicas; undefined if absent. */
  async metric(name: string): Promise<number | undefined> {
    const values = await Promise.all(
      this.all.map(async (h) => {
        const res = await fetch(`${h.url}/metrics`, { headers: this.headers, signal: AbortSignal.timeout(10_000) });
        const line = (await res.text()).split("\n").find((l) => l.startsWith(`${name} `));
        return line === undefined ? undefined : Number(line.slice(name.length + 1));
      }),
    );
    const found = values.filter((v): v is number => v !== undefined);
    return found.length === 0 ? undefined : found.reduce((a, b) => a + b, 0);
  }

  /**
   * One webhook. On PostgreSQL, parallel creates in one tenant over two replicas sometimes
   * answered 500 (a serialization failure, 40001, of the quota's SERIALIZABLE transaction): such
   * a create is sent again, up to 3 times, counted in setupRetries and logged on stderr, so the
   * scenario can still be measured (the server's error line stays in the log count).
   */
  private async createWebhook(url: string, events: string[]): Promise<string> {
    const body = { tenant_id: TENANT, url, events };
    for (let attempt = 1; ; attempt++) {
      try {
        return (await this.api<{ id: string }>("POST", "/v1/webhooks", body)).id;
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        if (!message.includes(": 500 ") || attempt >= 3) throw err;
        this.setupRetries++;
        console.error(`bench: webhook create sent again after ${message.slice(0, 300)}`);
      }
    }
  }

  async eventType(name: string): Promise<void> {
    await this.api("POST", "/v1/event-types", { name, description: "benchmark" }, [200, 201, 409]);
    await this.settle();
  }

  /** Creates webhooks for `urls` (with `parallel` requests at a time); returns their ids. */
  async webhooks(urls: string[], events: string[], parallel = 8): Promise<string[]> {
    const ids: string[] = new Array(urls.length);
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(parallel, urls.length) }, async () => {
        for (let i = next++; i < urls.length; i = next++) ids[i] = await this.createWebhook(urls[i] ?? "", events);
      }),
    );
    await this.settle();
    return ids;
  }
}
