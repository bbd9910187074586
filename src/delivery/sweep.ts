import { Cron } from "croner";
import type { Config } from "../config/types.ts";
import type { Clock } from "../domain/clock.ts";
import type { Store } from "../domain/store.ts";
import type { Logger } from "../observability/logger.ts";
import type { Metrics } from "../observability/metrics.ts";

const DAY_MS = 86_400_000;
// Each sweep deletes at most this many events, in transactions of BATCH: retention catches up
// over a few sweeps instead of holding the write lock for seconds.
const BATCH = 500;
const MAX_PER_SWEEP = 5_000;

/** The lease a store shared by several replicas gives one of them for the housekeeping. */
export const HOUSEKEEPING_LEASE = "housekeeping";
const MIN_LEASE_MS = 30_000;
const MAX_LEASE_MS = 10 * 60_000;

/**
 * How long the housekeeping lease is taken for on each sweep: three sweep intervals, so one slow
 * or failed sweep (a database hiccup) does not hand it to another replica, and a holder that died
 * is replaced within three intervals. At least 30 s, so a sweep's bounded batches end well inside
 * the lease (two replicas never housekeep at once); at most 10 min, so a rare pattern (hourly)
 * does not leave housekeeping waiting hours for a dead holder — the lease then lapses between
 * sweeps, and whichever replica's sweep asks first takes it, which is still one at a time.
 */
export function housekeepingLeaseMs(sweepPattern: string): number {
  const [a, b] = new Cron(sweepPattern, { paused: true }).nextRuns(2);
  const interval = a && b ? b.getTime() - a.getTime() : MIN_LEASE_MS;
  return Math.min(MAX_LEASE_MS, Math.max(MIN_LEASE_MS, 3 * interval));
}

export interface SweepDeps {
  store: Store;
  clock: Clock;
  config: Config;
  logger: Logger;
  metrics: Pick<Metrics, "recordPurge">;
  wake: () => void;
  /** The housekeeping lease's length (stores that have leases); default housekeepingLeaseMs(delivery.sweep). */
  leaseMs?: number;
}

export interface SweepReport {
  /** This process held the housekeeping lease and did the housekeeping (always, without leases). */
  housekeeping: boolean;
  leasesRecovered: number;
  webhooksDisabled: number;
  eventsPurged: number;
  /** Deliveries and attempts deleted with those events. */
  deliveriesPurged: number;
  attemptsPurged: number;
  payloadsPruned: number;
  keysCleared: number;
  pagesReclaimed: number;
}

/**
 * Repeats a bounded batch until it comes back short or MAX_PER_SWEEP rows were done, letting
 * requests and deliveries run between batches (the store's calls are synchronous).
 */
async function inBatches(batch: (limit: number) => Promise<number>): Promise<number> {
  let done = 0;
  while (done < MAX_PER_SWEEP) {
    const n = await batch(BATCH);
    done += n;
    if (n < BATCH) break;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return done;
}

type Housekeeping = Omit<SweepReport, "housekeeping" | "leasesRecovered">;

const NOTHING: Housekeeping = {
  webhooksDisabled: 0,
  eventsPurged: 0,
  deliveriesPurged: 0,
  attemptsPurged: 0,
  payloadsPruned: 0,
  keysCleared: 0,
  pagesReclaimed: 0,
};

/**
 * One pass. Every process brings expired delivery leases back and wakes its dispatcher for due
 * retries (whichever replica is alive picks them up); the housekeeping — disable_after,
 * retention, idempotency expiry, space — runs only in the process holding the housekeeping lease
 * (API.md §11), which is every process of a store without leases (SQLite: one per database).
 * Croner only calls this; tests call it with their own clock.
 */
export async function sweepOnce(deps: SweepDeps, now: number = deps.clock.now()): Promise<SweepReport> {
  const { store, config } = deps;
  const leasesRecovered = await store.recoverExpiredLeases(now);
  const housekeeping = store.holdLease
    ? await store.holdLease(HOUSEKEEPING_LEASE, deps.leaseMs ?? housekeepingLeaseMs(config.delivery.sweep))
    : true;
  const done = housekeeping ? await housekeep(deps, now) : NOTHING;
  // Retries that came due are picked up now even if no wake-up reached the dispatcher.
  deps.wake();
  return { housekeeping, leasesRecovered, ...done };
}

async function housekeep(deps: SweepDeps, now: number): Promise<Housekeeping> {
  const { store, config } = deps;
  const disabled = await store.disableFailingWebhooks(now - config.delivery.disable_after, now);
  for (const id of disabled) deps.logger.warn({ webhook_id: id }, "webhook disabled: failing for too long");
  const purged = { events: 0, deliveries: 0, attempts: 0 };
  if (config.retention.days > 0) {
    purged.events = await inBatches(async (limit) => {
      const batch = await store.purgeFinished(now - config.retention.days * DAY_MS, limit);
      purged.deliveries += batch.deliveries;
      purged.attempts += batch.attempts;
      return batch.events;
    });
  }
  const payloadsPruned =
    config.retention.payload_days > 0
      ? await inBatches((limit) => store.prunePayloads(now - config.retention.payload_days * DAY_MS, limit))
      : 0;
  const keysCleared = await store.clearIdempotencyKeys(now - config.events.idempotency_window, MAX_PER_SWEEP);
  // Deleted rows leave free pages: give a bounded number back per sweep (4 MiB at 4 KiB pages).
  // Only a store kept in a file it can shrink has this (SQLite); others reclaim space themselves.
  const pagesReclaimed = store.reclaimSpace ? await store.reclaimSpace(1024) : 0;
  const counts = { ...purged, payloads: payloadsPruned, idempotency_keys: keysCleared };
  deps.metrics.recordPurge(counts);
  // One line per sweep that removed something, so an operator sees retention at work (and what
  // it costs) without a line every few seconds when there is nothing to do.
  if (Object.values(counts).some((n) => n > 0)) {
    deps.logger.info({ ...counts, pages_reclaimed: pagesReclaimed }, "retention sweep purged");
  }
  return {
    webhooksDisabled: disabled.length,
    eventsPurged: purged.events,
    deliveriesPurged: purged.deliveries,
    attemptsPurged: purged.attempts,
    payloadsPruned,
    keysCleared,
    pagesReclaimed,
  };
}

/** Runs sweepOnce on `delivery.sweep`; croner's `protect` keeps runs from overlapping. */
export function startSweep(deps: SweepDeps): { stop(): Promise<void> } {
  let current: Promise<void> = Promise.resolve();
  const leased = { ...deps, leaseMs: deps.leaseMs ?? housekeepingLeaseMs(deps.config.delivery.sweep) };
  // Said when this replica takes the housekeeping over or hands it on (stores with leases only),
  // so an operator sees which replica purges without a line per sweep.
  let holding: boolean | undefined;
  const job = new Cron(deps.config.delivery.sweep, { protect: true }, () => {
    current = sweepOnce(leased).then(
      (report) => {
        if (!deps.store.holdLease || report.housekeeping === holding) return;
        if (report.housekeeping || holding !== undefined) {
          deps.logger.info(
            report.housekeeping
              ? "this replica now runs the housekeeping (retention, idempotency expiry, disable_after)"
              : "another replica now runs the housekeeping",
          );
        }
        holding = report.housekeeping;
      },
      (err: unknown) => deps.logger.error({ err }, "sweep failed"),
    );
    return current;
  });
  return {
    async stop() {
      job.stop();
      // job.stop() does not wait for a running sweep.
      await current;
    },
  };
}
