import type { AttemptOutcome, ClaimedDelivery, Store } from "../domain/store.ts";
import type { Logger } from "../observability/logger.ts";
import type { Metrics } from "../observability/metrics.ts";
import { type AttemptDeps, runAttempt } from "./attempt.ts";
import { OutcomeWriter } from "./outcome-writer.ts";
import type { SlotLedger } from "./slot-ledger.ts";

export interface AttemptsDeps extends AttemptDeps {
  store: Pick<Store, "recordOutcomes">;
  logger: Logger;
  metrics: Pick<Metrics, "recordAttempt" | "webhooksDisabled">;
}

/** What the pump hears from the attempts it launched. */
export interface AttemptEvents {
  /** An attempt was answered (or failed to run): its slot is free. */
  slotFreed(): void;
  /** An attempt is over, its outcome written (or not: its lease brings it back). */
  settled(): void;
}

/**
 * The attempts under way: each one sent, answered, counted and logged here, its outcome
 * written in batches (OutcomeWriter). The slot ledger counts them; the pump hears when a slot
 * frees and when an attempt is over.
 */
export class Attempts {
  private readonly tasks = new Set<Promise<void>>();
  /** Claims (not manual attempts) whose attempt is not over: released if the shutdown grace runs out. */
  private readonly claimed = new Set<string>();
  private readonly outcomes: OutcomeWriter;

  constructor(
    private readonly deps: AttemptsDeps,
    private readonly slots: SlotLedger,
    private readonly events: AttemptEvents,
  ) {
    const { store, clock, config, logger, metrics } = deps;
    this.outcomes = new OutcomeWriter({ store, clock, disableAfterMs: config.delivery.disable_after, logger, metrics });
  }

  /** Attempts not over yet (in flight, or answered with the outcome not written). */
  get running(): number {
    return this.tasks.size;
  }

  /** The claimed deliveries whose attempt is not over. */
  claimedIds(): string[] {
    return [...this.claimed];
  }

  /** Settles once every attempt launched so far is over. */
  async all(): Promise<void> {
    await Promise.all([...this.tasks]);
  }

  /** Every outcome handed to the writer is written (or failed to be). */
  drain(): Promise<void> {
    return this.outcomes.drain();
  }

  /**
   * Sends one delivery. `reserved`: its slot was counted when its ingest took it; otherwise it
   * is counted now (a claim or a confirmed held one respected the caps; a manual one takes it).
   */
  launch(d: ClaimedDelivery, manual: boolean, reserved = false): void {
    if (!reserved) this.slots.occupy(d.webhookId);
    if (!manual) this.claimed.add(d.id);
    let answered = false;
    const task = runAttempt(this.deps, d, manual)
      .then((outcome) => {
        // Still "delivering" in the database until its outcome is written: no claim takes it.
        answered = true;
        this.slots.answered(d.webhookId);
        this.events.slotFreed();
        return this.record(outcome).finally(() => this.slots.written());
      })
      .catch((err: unknown) => {
        // The claim stays leased and comes back after the lease: nothing is lost.
        this.deps.logger.error({ err, delivery_id: d.id }, "attempt could not be recorded");
      })
      .finally(() => {
        this.claimed.delete(d.id);
        this.tasks.delete(task);
        // The attempt threw before an answer: its slot is free, with no outcome to write.
        if (!answered) {
          this.slots.release(d.webhookId);
          this.events.slotFreed();
        }
        this.events.settled();
      });
    this.tasks.add(task);
  }

  /** Counted and logged here, written in batches (OutcomeWriter). */
  private record(outcome: AttemptOutcome): Promise<void> {
    this.deps.metrics.recordAttempt(outcome.result, outcome.manual, outcome.attempt.durationMs);
    if (outcome.result !== "succeeded") {
      this.deps.logger.info(
        {
          delivery_id: outcome.deliveryId,
          webhook_id: outcome.webhookId,
          status_code: outcome.attempt.statusCode,
          error: outcome.attempt.error,
          result: outcome.result,
        },
        "delivery attempt failed",
      );
    }
    return this.outcomes.write(outcome);
  }
}
