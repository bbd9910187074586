import { Counter, Gauge, Histogram, Registry } from "prom-client";

// The shapes the metrics read are declared here, so that observability depends on no other
// layer: the store's gauges and the pool's counts fit them structurally.

/** Database state, read at scrape time. */
export interface DatabaseGauges {
  /** Pending deliveries per age bucket (lt_1m, 1m_10m, 10m_1h, 1h_1d, gt_1d). */
  pendingByAge: Record<string, number>;
  oldestPendingCreatedAt: number | null;
  /** The earliest next_attempt_at among pending deliveries that are due. */
  oldestDueAt: number | null;
  webhooksEnabled: number;
  webhooksDisabled: number;
  /** File sizes, where the store is made of files (SQLite); absent otherwise. */
  databaseBytes?: number;
  walBytes?: number;
}

/** Connections of the outbound client. */
export interface ConnectionCounts {
  /** Established since start. */
  opened: number;
  /** Established and not closed yet (busy or idle). */
  open: number;
  /** Open and waiting for the next request to their origin. */
  idle: number;
}

/** What an attempt came to: `retry`, and `failed` once retries are exhausted. */
export type AttemptKind = "succeeded" | "retry" | "failed" | "gone";

/** What the scrape asks for at collection time (database state, dispatcher state). */
export interface MetricsSources {
  gauges(now: number): Promise<DatabaseGauges>;
  inFlight(): number;
  /** Deliveries claimed by their ingest, waiting in memory for a free slot. */
  held?(): number;
  now(): number;
  /** The pooled outbound client's connections; undefined with `delivery.client = "fetch"`. */
  outbound?(): ConnectionCounts | undefined;
}

const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

const AGE_BUCKETS = ["lt_1m", "1m_10m", "10m_1h", "1h_1d", "gt_1d"] as const;

/** What the retention sweep removes, one `kind` label each (see delivery/sweep.ts). */
const PURGE_KINDS = ["events", "deliveries", "attempts", "payloads", "idempotency_keys"] as const;
export type PurgeKind = (typeof PURGE_KINDS)[number];

/**
 * Prometheus metrics (prom-client, checked inside the compiled binary). Counters move on the
 * hot paths; gauges that need the database are read only when /metrics is scraped.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly eventsIngested = new Counter({
    name: "hookline_events_ingested_total",
    help: "Events accepted (202) and committed, idempotent replays excluded.",
    registers: [this.registry],
  });
  readonly deliveriesCreated = new Counter({
    name: "hookline_deliveries_created_total",
    help: "Deliveries created by fan-out and by the test endpoint.",
    registers: [this.registry],
  });
  readonly deliveries = new Counter({
    name: "hookline_deliveries_total",
    help: "Attempts by outcome: succeeded, retry (failed, will retry), failed (retries exhausted), gone (410), manual_failed.",
    labelNames: ["outcome"] as const,
    registers: [this.registry],
  });
  readonly attemptDuration = new Histogram({
    name: "hookline_attempt_duration_seconds",
    help: "Duration of delivery attempts, successful or not.",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly httpRequests = new Counter({
    name: "hookline_http_requests_total",
    help: "API requests by route pattern, method and status.",
    labelNames: ["method", "route", "status"] as const,
    registers: [this.registry],
  });
  readonly forcedCollections = new Counter({
    name: "hookline_forced_gc_total",
    help: "Full garbage collections forced because resident memory was over server.memory_soft_limit_mb.",
    registers: [this.registry],
  });
  readonly retentionPurged = new Counter({
    name: "hookline_retention_purged_total",
    help: "Rows the retention sweep removed: events, deliveries, attempts (with their events), payloads pruned, idempotency keys cleared.",
    labelNames: ["kind"] as const,
    registers: [this.registry],
  });
  readonly webhooksDisabled = new Counter({
    name: "hookline_webhooks_disabled_total",
    help: "Webhooks disabled by Hookline (failing for too long, or 410 Gone).",
    registers: [this.registry],
  });

  constructor(sources: MetricsSources) {
    const r = [this.registry];
    // Every kind shows from the first scrape, at 0, so rate() and alerts see a series at once.
    for (const kind of PURGE_KINDS) this.retentionPurged.inc({ kind }, 0);
    let snapshot: Promise<DatabaseGauges> | undefined;
    // One database read per scrape, shared by every gauge below.
    const gauges = () => {
      snapshot ??= sources.gauges(sources.now()).finally(() => {
        setTimeout(() => (snapshot = undefined), 0);
      });
      return snapshot;
    };
    new Gauge({
      name: "hookline_deliveries_in_flight",
      help: "Attempts being sent right now by this process.",
      registers: r,
      collect() {
        this.set(sources.inFlight());
      },
    });
    new Gauge({
      name: "hookline_deliveries_held",
      help: "Deliveries claimed by this process (status delivering) waiting in memory for a free slot.",
      registers: r,
      collect() {
        this.set(sources.held?.() ?? 0);
      },
    });
    new Gauge({
      name: "hookline_deliveries_pending",
      help: "Pending deliveries by age since creation.",
      labelNames: ["age"] as const,
      registers: r,
      async collect() {
        const g = await gauges();
        for (const age of AGE_BUCKETS) this.set({ age }, g.pendingByAge[age] ?? 0);
      },
    });
    new Gauge({
      name: "hookline_oldest_pending_age_seconds",
      help: "Age of the oldest pending delivery (0 when none).",
      registers: r,
      async collect() {
        const g = await gauges();
        this.set(g.oldestPendingCreatedAt === null ? 0 : (sources.now() - g.oldestPendingCreatedAt) / 1000);
      },
    });
    new Gauge({
      name: "hookline_dispatcher_lag_seconds",
      help: "How late the most overdue pending delivery is (0 when nothing is due).",
      registers: r,
      async collect() {
        const g = await gauges();
        this.set(g.oldestDueAt === null ? 0 : Math.max(0, (sources.now() - g.oldestDueAt) / 1000));
      },
    });
    new Gauge({
      name: "hookline_webhooks",
      help: "Webhooks by state.",
      labelNames: ["state"] as const,
      registers: r,
      async collect() {
        const g = await gauges();
        this.set({ state: "enabled" }, g.webhooksEnabled);
        this.set({ state: "disabled" }, g.webhooksDisabled);
      },
    });
    // Connections to receivers: "opened" growing with deliveries means they are not reused.
    let openedSeen = 0;
    new Counter({
      name: "hookline_outbound_connections_opened_total",
      help: "Connections to receivers opened by the pooled client (not one per delivery when reuse works).",
      registers: r,
      collect() {
        const s = sources.outbound?.();
        if (s && s.opened > openedSeen) this.inc(s.opened - openedSeen);
        if (s) openedSeen = s.opened;
      },
    });
    new Gauge({
      name: "hookline_outbound_connections",
      help: "Connections to receivers held by the pooled client: open (busy or idle) and idle.",
      labelNames: ["state"] as const,
      registers: r,
      collect() {
        const s = sources.outbound?.();
        this.set({ state: "open" }, s?.open ?? 0);
        this.set({ state: "idle" }, s?.idle ?? 0);
      },
    });
    new Gauge({
      name: "hookline_resident_memory_bytes",
      help: "Resident set size of the process.",
      registers: r,
      collect() {
        this.set(process.memoryUsage.rss());
      },
    });
    new Gauge({
      name: "hookline_storage_bytes",
      help: "Size of the database file and of its write-ahead log.",
      labelNames: ["file"] as const,
      registers: r,
      async collect() {
        const g = await gauges();
        if (g.databaseBytes !== undefined) this.set({ file: "database" }, g.databaseBytes);
        if (g.walBytes !== undefined) this.set({ file: "wal" }, g.walBytes);
      },
    });
  }

  recordAttempt(result: AttemptKind, manual: boolean, durationMs: number): void {
    this.deliveries.inc({ outcome: manual && result !== "succeeded" ? "manual_failed" : result });
    this.attemptDuration.observe(durationMs / 1000);
  }

  /** One sweep's retention work; kinds with nothing removed are left alone. */
  recordPurge(counts: Record<PurgeKind, number>): void {
    for (const kind of PURGE_KINDS) if (counts[kind] > 0) this.retentionPurged.inc({ kind }, counts[kind]);
  }

  /**
   * One API request answered: the route pattern, never the path (ids would make the label set
   * unbounded), and for the same reason a method outside HTTP's usual ones counts as OTHER.
   */
  countRequest(method: string, route: string, status: number): void {
    this.httpRequests.inc({ method: METHODS.has(method) ? method : "OTHER", route, status: String(status) });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

export { AGE_BUCKETS };
