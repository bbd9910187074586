import type { Clock, Scheduler, TimerHandle } from "../domain/clock.ts";
import type { Store } from "../domain/store.ts";

// The longest the dispatcher sleeps with nothing due; the sweep also wakes it.
const MAX_IDLE_MS = 30_000;
// Due work that could not be claimed (no free slot) is looked at again this often at most;
// finishing attempts wake the dispatcher sooner.
const BUSY_RECHECK_MS = 1_000;

/**
 * The dispatcher's one timer between pumps: it sleeps until the next scheduled retry (bounded),
 * so retries are not late by a sweep period, then wakes it. Armed after each pump, cleared on
 * stop; the Scheduler fires it (tests advance a ManualScheduler).
 */
export class RetryTimer {
  private handle: TimerHandle | undefined;
  private reading = 0;

  constructor(
    private readonly deps: { store: Pick<Store, "nextDueAt">; clock: Clock; scheduler: Scheduler },
    private readonly wake: () => void,
  ) {}

  /** Reading the next due time from the store: the dispatcher is not at rest meanwhile. */
  get arming(): boolean {
    return this.reading > 0;
  }

  /**
   * Arms the timer for the next due retry. `claimedLast`: what the last pass claimed (nothing
   * while something is due means no slot was free). `stillWanted` is asked after the store
   * answered: a stop meanwhile leaves no timer.
   */
  async arm(claimedLast: number, stillWanted: () => boolean): Promise<void> {
    let delay = MAX_IDLE_MS;
    this.reading++;
    try {
      const due = await this.deps.store.nextDueAt();
      if (due !== undefined) delay = Math.min(MAX_IDLE_MS, Math.max(0, due - this.deps.clock.now()));
      // Due work that could not be claimed waits for a free slot; finishing attempts wake us,
      // so only look again now and then instead of spinning.
      if (delay === 0 && claimedLast === 0) delay = BUSY_RECHECK_MS;
    } catch {
      // The sweep will wake us.
    } finally {
      this.reading--;
    }
    if (!stillWanted()) return;
    this.clear();
    this.handle = this.deps.scheduler.setTimeout(this.wake, delay);
  }

  clear(): void {
    if (this.handle !== undefined) this.deps.scheduler.clearTimeout(this.handle);
    this.handle = undefined;
  }
}
