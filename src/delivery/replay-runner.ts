// Runs replay jobs (API.md §14) in the background: one batch per running job per pass, passes
// on the injected scheduler. Everything a job needs to go on is in the database (cursor, counts),
// so a restart — or on PostgreSQL another replica, once this one's lease ran out — continues
// where the last committed batch left it.
//
// Fresh deliveries go first: they are claimed by their own ingest and sent from the hand-off,
// which every claim pass serves before it searches the database (dispatcher.ts), so replay
// deliveries only fill slots fresh work leaves free. What keeps a replay from also piling up a
// backlog in the database is the store's pacing (ReplayBatchOptions.maxDue): no next batch
// while the webhook has maxDue due deliveries waiting.
import { type Clock, type Scheduler, systemScheduler, type TimerHandle } from "../domain/clock.ts";
import type { ReplayBatchOptions, Store } from "../domain/store.ts";
import type { Logger } from "../observability/logger.ts";

// The pace (about 1,000 deliveries a second at most: 100 events every 100 ms) was measured on the
// 2-core bench box: fresh events at 200/s to the replayed webhook kept their end-to-end p99 at
// 8 ms during a 100,000-event replay against 4 ms without (2×); 250 per 100 ms or 100 per 40 ms
// (~2,200/s) gave 10 ms (2.5×).
export const REPLAY_DEFAULTS = {
  /** Events read per batch (one transaction). */
  batchSize: 100,
  /** Due pending deliveries of the webhook above which a job waits. */
  maxDue: 200,
  /** How often to look for jobs when none is running (new ones, or another replica's after its lease). */
  idleMs: 1_000,
  /** The pause between passes while a job is running: gives the dispatcher turns of its own. */
  busyMs: 100,
  /** The lease on a job (PostgreSQL), renewed by every batch. */
  leaseMs: 30_000,
  /** Jobs looked at per pass. */
  jobsPerPass: 16,
};

export interface ReplayRunnerDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  /** Deliveries were created: the dispatcher should look at the database. */
  wake(): void;
  scheduler?: Scheduler;
  options?: Partial<typeof REPLAY_DEFAULTS>;
}

export interface ReplayPass {
  /** Jobs that made a batch. */
  progressed: number;
  /** Jobs that waited for their webhook's backlog. */
  paced: number;
  created: number;
  finished: number;
}

export class ReplayRunner {
  private readonly o: typeof REPLAY_DEFAULTS;
  private readonly scheduler: Scheduler;
  private timer: TimerHandle | undefined;
  private running: Promise<ReplayPass> | undefined;
  private started = false;

  constructor(private readonly deps: ReplayRunnerDeps) {
    this.o = { ...REPLAY_DEFAULTS, ...deps.options };
    this.scheduler = deps.scheduler ?? systemScheduler;
  }

  start(): void {
    this.started = true;
    this.arm(0);
  }

  async stop(): Promise<void> {
    this.started = false;
    if (this.timer !== undefined) this.scheduler.clearTimeout(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }

  /** One pass: a batch of each runnable job. Tests drive it; the started runner calls it on its timer. */
  runOnce(now: number = this.deps.clock.now()): Promise<ReplayPass> {
    // One pass at a time: a second caller shares the one in progress.
    this.running ??= this.pass(now).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async pass(now: number): Promise<ReplayPass> {
    const { store, logger } = this.deps;
    const out: ReplayPass = { progressed: 0, paced: 0, created: 0, finished: 0 };
    const opts: ReplayBatchOptions = { limit: this.o.batchSize, maxDue: this.o.maxDue, leaseMs: this.o.leaseMs };
    for (const id of await store.runnableReplays(now, this.o.jobsPerPass)) {
      const r = await store.replayBatch(id, now, opts);
      if (r.kind === "paced") out.paced++;
      else if (r.kind === "failed") logger.warn({ replay_id: id }, "replay failed: its webhook is disabled or gone");
      else if (r.kind === "progressed") {
        out.progressed++;
        out.created += r.created;
        if (r.finished) {
          out.finished++;
          logger.info({ replay_id: id }, "replay done");
        }
      }
    }
    if (out.created > 0) this.deps.wake();
    return out;
  }

  private arm(ms: number): void {
    if (!this.started) return;
    this.timer = this.scheduler.setTimeout(() => void this.tick(), ms);
  }

  private async tick(): Promise<void> {
    this.timer = undefined;
    let busy = false;
    try {
      const p = await this.runOnce();
      busy = p.progressed > 0 || p.paced > 0;
    } catch (err) {
      this.deps.logger.error({ err }, "replay batch failed; trying again");
    }
    this.arm(busy ? this.o.busyMs : this.o.idleMs);
  }
}
