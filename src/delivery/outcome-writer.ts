import type { Clock } from "../domain/clock.ts";
import type { AttemptOutcome, Store } from "../domain/store.ts";
import type { Logger } from "../observability/logger.ts";
import type { Metrics } from "../observability/metrics.ts";

/** What the writer needs, and nothing of the dispatcher's: it only writes what it is given. */
export interface OutcomeWriterDeps {
  store: Pick<Store, "recordOutcomes">;
  clock: Clock;
  /** `delivery.disable_after`: the store disables a webhook failing for that long. */
  disableAfterMs: number;
  logger: Pick<Logger, "warn" | "error">;
  metrics: Pick<Metrics, "webhooksDisabled">;
}

interface Queued {
  outcome: AttemptOutcome;
  done: () => void;
}

/**
 * Attempt outcomes written in batches: those finishing in the same turn go in one call, and
 * only one call is in flight (each is a message to the writer thread and a transaction), so the
 * next batch grows while it is written.
 */
export class OutcomeWriter {
  private queued: Queued[] = [];
  private scheduled = false;
  private writing: Promise<void> | undefined;

  constructor(private readonly deps: OutcomeWriterDeps) {}

  /** Settles once the outcome is written (or could not be: the claim's lease brings it back). */
  write(outcome: AttemptOutcome): Promise<void> {
    return new Promise<void>((done) => {
      this.queued.push({ outcome, done });
      if (!this.scheduled) {
        this.scheduled = true;
        // The next turn, not a timer: whatever finishes in this one joins the batch.
        setImmediate(() => this.flush());
      }
    });
  }

  /** Every outcome handed to write() is written (or failed to be). */
  async drain(): Promise<void> {
    this.flush();
    while (this.writing !== undefined) await this.writing;
  }

  private flush(): void {
    this.scheduled = false;
    if (this.writing !== undefined) return; // sent when the write in flight is done
    const batch = this.queued;
    this.queued = [];
    if (batch.length === 0) return;
    const { store, clock, disableAfterMs, metrics, logger } = this.deps;
    this.writing = store
      .recordOutcomes(
        batch.map((b) => b.outcome),
        clock.now(),
        disableAfterMs,
      )
      .then((disabled) => {
        metrics.webhooksDisabled.inc(disabled.length);
        for (const id of disabled) logger.warn({ webhook_id: id }, "webhook disabled");
      })
      .catch((err: unknown) => logger.error({ err }, "attempt outcomes could not be written"))
      .finally(() => {
        this.writing = undefined;
        for (const b of batch) b.done();
        this.flush();
      });
  }
}
