import { every, type Scheduler, systemScheduler, type TimerHandle } from "../domain/clock.ts";
import type { CommittedWork, DispatchHandle } from "../domain/dispatcher-port.ts";
import type { ClaimedDelivery, IngestClaim, NewDelivery, Store } from "../domain/store.ts";
import type { Logger } from "../observability/logger.ts";
import type { Metrics } from "../observability/metrics.ts";
import type { AttemptDeps } from "./attempt.ts";
import { Attempts } from "./attempts.ts";
import { invariant, isStarted, isStopped, type Mode, move } from "./dispatcher-mode.ts";
import { HOLD_CHECK_MS, Intake, LEASE_MARGIN_MS } from "./intake.ts";
import { RetryTimer } from "./retry-timer.ts";
import { ScanDecision } from "./scan-decision.ts";
import { SlotLedger } from "./slot-ledger.ts";

export interface DispatcherDeps extends AttemptDeps {
  store: Store;
  /** Held deliveries kept in memory at most (tests shrink it). */
  handoffMax?: number;
  logger: Logger;
  metrics: Metrics;
  /** Arms the retry timer, the hold check and the shutdown grace (tests pass a ManualScheduler). */
  scheduler?: Scheduler;
}

/**
 * Claims due deliveries and sends them, at most `delivery.concurrency` at a time overall and
 * `delivery.per_webhook_concurrency` per webhook, so a slow receiver cannot starve the others.
 * The database is the queue: committed work is handed over at once (committed/offer) so there is
 * no polling delay, and a claim is a lease that a crash gives back when it expires.
 *
 * This file is the pump and its modes (dispatcher-mode.ts): when to claim, and what to do on
 * start and stop. What is counted lives in the slot ledger (slot-ledger.ts), whether to search
 * the database in the scan decision (scan-decision.ts), what ingests hand over in the intake
 * (intake.ts), sending and recording in Attempts (attempts.ts).
 */
export class Dispatcher implements DispatchHandle {
  private mode: Mode = "unstarted";
  /** Asked for another pass while pumping; only the pumping mode has it set. */
  private again = false;
  private readonly slots: SlotLedger;
  private readonly scan: ScanDecision;
  private readonly intake: Intake;
  private readonly attempts: Attempts;
  private readonly scheduler: Scheduler;
  private readonly leaseMs: number;
  private lastClaimed = 0;
  private readonly retryTimer: RetryTimer;
  private holdCheck: { stop(): void } | undefined;
  private stopping: Promise<void> | undefined;
  private readonly restWaiters: { drained: boolean; resolve: () => void }[] = [];

  constructor(private readonly deps: DispatcherDeps) {
    const { delivery } = deps.config;
    this.scheduler = deps.scheduler ?? systemScheduler;
    this.retryTimer = new RetryTimer({ ...deps, scheduler: this.scheduler }, () => this.wake());
    this.slots = new SlotLedger(delivery.concurrency, delivery.per_webhook_concurrency);
    this.scan = new ScanDecision(this.slots);
    this.leaseMs = delivery.timeout + LEASE_MARGIN_MS;
    this.attempts = new Attempts(deps, this.slots, {
      slotFreed: () => {
        this.scan.slotFreed(this.intake.handoff.size);
        this.schedule();
      },
      // Outcomes written: room for more if their bound held new attempts back.
      settled: () => {
        this.schedule();
        this.notifyRest();
      },
    });
    const host = { accepting: () => isStarted(this.mode), schedule: () => this.schedule() };
    this.intake = new Intake(deps, this.slots, this.scan, this.attempts, host, this.leaseMs);
  }

  get isRunning(): boolean {
    return isStarted(this.mode);
  }

  get inFlight(): number {
    return this.slots.inFlight;
  }

  /** Deliveries held in memory (claimed by their ingest) for a free slot. */
  get held(): number {
    return this.intake.handoff.size;
  }

  /** The mode, for tests and logs (see dispatcher-mode.ts). */
  get currentMode(): Mode {
    return this.mode;
  }

  start(): void {
    this.enter("idle");
    this.holdCheck = every(this.scheduler, HOLD_CHECK_MS, () => void this.releaseAgeingHolds());
    this.wake();
  }

  /** Something may be due in the database (a sweep, a recover, the retry timer): look. */
  wake(): void {
    this.scan.wake();
    this.schedule();
  }

  claimHook(): IngestClaim | undefined {
    return isStarted(this.mode) ? this.intake.claim : undefined;
  }

  committed(work: CommittedWork): void {
    // Offered first: the deliveries claimed as "send" hold slots until they are launched.
    if (work.deliveries.length > 0) this.offer(work.deliveries);
    if (work.origin === "publish") this.deps.metrics.eventsIngested.inc();
    this.deps.metrics.deliveriesCreated.inc(work.deliveries.length);
  }

  offer(deliveries: NewDelivery[]): void {
    this.intake.offer(deliveries);
  }

  attemptNow(delivery: ClaimedDelivery): void {
    this.attempts.launch(delivery, true);
  }

  /**
   * Claims what is due at `now` (as capacity allows), sends it and waits for every outcome to
   * be recorded. Tests drive time with it; the running dispatcher uses the same path.
   */
  async dispatchOnce(now: number = this.deps.clock.now()): Promise<number> {
    this.scan.wake();
    const started = await this.claimAndLaunch(now);
    await this.attempts.all();
    return started;
  }

  /**
   * Resolves once the dispatcher is at rest: no pump scheduled or running, no claim or retry
   * timer waiting for the store, every answered attempt's outcome written; with `drained`, no
   * attempt in flight either. A test waits for this before asserting that nothing (more) was
   * sent: whatever the dispatcher would still do has to happen before it.
   */
  atRest(opts: { drained?: boolean } = {}): Promise<void> {
    return new Promise((resolve) => {
      this.restWaiters.push({ drained: opts.drained ?? false, resolve });
      this.notifyRest();
    });
  }

  /** Stops claiming, lets in-flight attempts finish within `graceMs`, gives back the rest. */
  stop(graceMs: number): Promise<void> {
    if (this.stopping) return this.stopping;
    this.enter("stopping");
    this.stopping = this.wind(graceMs).finally(() => {
      this.enter("stopped");
      this.stopping = undefined;
      this.notifyRest();
    });
    return this.stopping;
  }

  private async wind(graceMs: number): Promise<void> {
    this.retryTimer.clear();
    this.holdCheck?.stop();
    this.holdCheck = undefined;
    // Held, never sent: pending again now, so whoever starts next sends them without waiting
    // for their lease.
    await this.intake.releaseAll();
    let grace: TimerHandle | undefined;
    const timedOut = await Promise.race([
      this.attempts.all().then(() => false),
      new Promise<boolean>((r) => {
        grace = this.scheduler.setTimeout(() => r(true), graceMs);
      }),
    ]);
    if (grace !== undefined) this.scheduler.clearTimeout(grace);
    await this.attempts.drain();
    const unfinished = this.attempts.claimedIds();
    if (timedOut && unfinished.length > 0) {
      // The attempts still running will be retried by whoever starts next: at-least-once.
      await this.deps.store.releaseClaims(unfinished, this.deps.clock.now());
      this.deps.logger.warn({ released: unfinished.length }, "shutdown grace over: unfinished deliveries released");
    }
  }

  /** Moves to `to`, checking the transition (dispatcher-mode.ts) and what the new mode requires. */
  private enter(to: Mode): void {
    const from = this.mode;
    this.mode = move(from, to);
    if (to === "idle") {
      // A pass that threw may leave it set; only the pumping mode has it.
      this.again = false;
      if (from !== "pumping") invariant(this.holdCheck === undefined, "started twice: a hold check is armed");
    }
    if (to === "pumping") invariant(!this.again, "a pass asked for before the pump started");
    if (to === "stopped") {
      invariant(this.intake.handoff.size <= 0, "stopped with deliveries held");
      invariant(this.holdCheck === undefined, "stopped with the hold check armed");
    }
  }

  private schedule(): void {
    if (this.mode === "pumping") {
      this.again = true;
      return;
    }
    if (this.mode !== "idle") return;
    this.enter("pumping");
    setImmediate(() => void this.pump());
  }

  private async pump(): Promise<void> {
    try {
      do {
        this.again = false;
        await this.claimAndLaunch(this.deps.clock.now());
      } while (this.again && this.mode === "pumping");
    } catch (err) {
      this.deps.logger.error({ err }, "dispatcher could not claim deliveries");
    } finally {
      // Stopping meanwhile ends the pump where it is; the mode is stop()'s then.
      if (this.mode === "pumping") this.enter("idle");
    }
    if (isStarted(this.mode)) await this.retryTimer.arm(this.lastClaimed, () => isStarted(this.mode));
    this.notifyRest();
  }

  private async claimAndLaunch(now: number): Promise<number> {
    const capacity = this.slots.free();
    if (capacity <= 0) {
      // Nothing claimed this pass: with due work waiting, the retry timer looks again in a
      // second (freed slots wake it sooner), rather than at once, over and over.
      this.lastClaimed = 0;
      return 0;
    }
    this.slots.beginClaim();
    try {
      return await this.claimInto(now, capacity);
    } finally {
      this.slots.endClaim();
      this.notifyRest();
    }
  }

  private async claimInto(now: number, capacity: number): Promise<number> {
    const { config, store } = this.deps;
    const cap = config.delivery.per_webhook_concurrency;
    let started = 0;
    // Held deliveries first: claimed by their ingest, no search of the pending rows. Those the
    // store no longer confirms (webhook disabled or deleted, lease lost) leave their slot free
    // for the next ones.
    for (;;) {
      const held = this.intake.handoff.take(capacity - started, cap, this.slots.byWebhook);
      if (held.length === 0) break;
      const confirmed = await store.confirmHeld(held, now, this.leaseMs);
      for (const c of confirmed) this.attempts.launch(c, false);
      started += confirmed.length;
      if (confirmed.length === held.length) break;
    }
    const left = capacity - started;
    if (left > 0 && this.scan.shouldScan(this.intake.handoff.size)) {
      const claims = await store.claimDue(now, { limit: left, leaseMs: this.leaseMs, perWebhookCap: cap, inflight: this.slots.byWebhook });
      if (isStopped(this.mode)) {
        // Stopped while the claim was being written: give them back now rather than after
        // their lease.
        await store.releaseClaims(
          claims.map((c) => c.id),
          this.deps.clock.now(),
        );
        return started;
      }
      for (const c of claims) this.attempts.launch(c, false);
      started += claims.length;
      this.scan.scanned(left, claims.length);
    }
    this.lastClaimed = started;
    // Every slot filled: there may be more, look again once this pass is done.
    if (started === capacity && this.mode === "pumping") this.again = true;
    return started;
  }

  /** Held deliveries whose lease could run out before a slot frees go back (intake.ts); tests call it with their clock. */
  releaseAgeingHolds(now: number = this.deps.clock.now()): Promise<number> {
    return this.intake.releaseAgeing(now);
  }

  private notifyRest(): void {
    if (this.restWaiters.length === 0) return;
    const resting = this.mode !== "pumping" && !this.slots.claiming && !this.retryTimer.arming && this.slots.unwrittenOutcomes === 0;
    if (!resting) return;
    const drained = this.slots.inFlight === 0 && this.attempts.running === 0;
    for (let i = this.restWaiters.length - 1; i >= 0; i--) {
      const w = this.restWaiters[i];
      if (w && (!w.drained || drained)) {
        this.restWaiters.splice(i, 1);
        w.resolve();
      }
    }
  }
}
