import type { DispatchHandle } from "../domain/dispatch.ts";
import type { AttemptOutcome, ClaimedDelivery, IngestClaim, NewDelivery, Store } from "../domain/store.ts";
import type { Logger } from "../observability/logger.ts";
import type { Metrics } from "../observability/metrics.ts";
import { type AttemptDeps, runAttempt } from "./attempt.ts";
import { Handoff } from "./handoff.ts";

// How long past the attempt timeout a claim stays ours: the lease must outlive every attempt
// that is still running, or another process could claim it too early.
const LEASE_MARGIN_MS = 5_000;
// The longest the dispatcher sleeps with nothing due; the sweep also wakes it.
const MAX_IDLE_MS = 30_000;
// Fresh deliveries kept in memory at most; beyond, they are found in the database.
const MAX_HANDOFF = 10_000;

export interface DispatcherDeps extends AttemptDeps {
  store: Store;
  /** Fresh deliveries kept in memory at most (tests shrink it). */
  handoffMax?: number;
  logger: Logger;
  metrics: Metrics;
}

interface QueuedOutcome {
  outcome: AttemptOutcome;
  done: () => void;
}

/**
 * Claims due deliveries and sends them, at most `delivery.concurrency` at a time overall and
 * `delivery.per_webhook_concurrency` per webhook, so a slow receiver cannot starve the others.
 * The database is the queue: a wake-up after each commit avoids polling delays, and a claim
 * is a lease that a crash gives back when it expires.
 */
export class Dispatcher implements DispatchHandle {
  private running = false;
  private inflight = 0;
  private readonly perWebhook = new Map<string, number>();
  private readonly tasks = new Set<Promise<void>>();
  private readonly claimed = new Set<string>();
  private pumping = false;
  private again = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private outcomes: QueuedOutcome[] = [];
  private lastClaimed = 0;
  private flushScheduled = false;
  private readonly handoff: Handoff;
  /** Whether due work may be in the database that the hand-off does not know about. */
  private scanNeeded = true;
  /**
   * Anyone's due work may be in the database without the hand-off knowing (a wake-up: start,
   * sweep, retry timer; or the hand-off was full), so every freed slot looks there too. Cleared
   * by a scan that came back short: it took everything due except for webhooks at their cap.
   */
  private dbBacklog = true;
  /**
   * Webhooks that may have due work in the database only: at their cap when the last short scan
   * ran, or dropped by the hand-off at their own bound. A freed slot scans only while one of
   * them has room, so a hanging receiver's backlog does not make every other slot search.
   */
  private readonly dbOnly = new Set<string>();

  constructor(private readonly deps: DispatcherDeps) {
    this.handoff = new Handoff(deps.handoffMax ?? MAX_HANDOFF);
    this.ingestClaim.leaseMs = deps.config.delivery.timeout + LEASE_MARGIN_MS;
  }

  get isRunning(): boolean {
    return this.running;
  }

  get inFlight(): number {
    return this.inflight;
  }

  start(): void {
    this.running = true;
    this.wake();
  }

  /** Something may be due in the database (a sweep, a recover, the retry timer): look. */
  wake(): void {
    this.scanNeeded = true;
    this.dbBacklog = true;
    this.schedule();
  }

  /**
   * Slots are reserved inside the ingest transaction (take), and the claimed deliveries come
   * back through offer() once it committed; a rollback gives the slots back.
   */
  private readonly ingestClaim: IngestClaim = {
    leaseMs: 0, // set in the constructor
    take: (webhookId) => {
      const used = this.perWebhook.get(webhookId) ?? 0;
      if (!this.running || this.inflight >= this.deps.config.delivery.concurrency) return false;
      if (used >= this.deps.config.delivery.per_webhook_concurrency) return false;
      this.inflight++;
      this.perWebhook.set(webhookId, used + 1);
      return true;
    },
    giveBack: (webhookId) => this.release(webhookId),
  };

  claimHook(): IngestClaim | undefined {
    return this.running ? this.ingestClaim : undefined;
  }

  offer(deliveries: NewDelivery[]): void {
    for (const d of deliveries) {
      // Claimed in the ingest transaction, its slot already counted: send it now.
      if (d.claimed) this.launch(d.claimed, false, true);
    }
    // Stopped (or driven by tests through dispatchOnce): the database has the others anyway.
    if (!this.running) return;
    const rest = deliveries.filter((d) => !d.claimed);
    if (rest.length === 0) return;
    this.handoff.add(rest);
    if (this.handoff.overflowed) {
      this.handoff.overflowed = false;
      this.scanNeeded = true;
      this.dbBacklog = true;
    }
    if (this.handoff.droppedFor.size > 0) {
      for (const id of this.handoff.droppedFor) this.dbOnly.add(id);
      this.handoff.droppedFor.clear();
      if (this.dbOnlyHasRoom()) this.scanNeeded = true;
    }
    this.schedule();
  }

  private schedule(): void {
    if (!this.running) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    setImmediate(() => void this.pump());
  }

  attemptNow(delivery: ClaimedDelivery): void {
    this.launch(delivery, true);
  }

  /**
   * Claims what is due at `now` (as capacity allows), sends it and waits for every outcome to
   * be recorded. Tests drive time with it; the running dispatcher uses the same path.
   */
  async dispatchOnce(now: number = this.deps.clock.now()): Promise<number> {
    this.scanNeeded = true;
    const started = await this.claimAndLaunch(now);
    await Promise.all([...this.tasks]);
    return started;
  }

  /** Stops claiming, lets in-flight attempts finish within `graceMs`, gives back the rest. */
  async stop(graceMs: number): Promise<void> {
    this.running = false;
    this.handoff.clear();
    if (this.timer) clearTimeout(this.timer);
    const all = Promise.all([...this.tasks]);
    const timedOut = await Promise.race([
      all.then(() => false),
      new Promise<boolean>((r) => setTimeout(() => r(true), graceMs).unref()),
    ]);
    this.flushOutcomes();
    if (timedOut && this.claimed.size > 0) {
      // The attempts still running will be retried by whoever starts next: at-least-once.
      await this.deps.store.releaseClaims([...this.claimed], this.deps.clock.now());
      this.deps.logger.warn({ released: this.claimed.size }, "shutdown grace over: unfinished deliveries released");
    }
  }

  private async pump(): Promise<void> {
    try {
      do {
        this.again = false;
        await this.claimAndLaunch(this.deps.clock.now());
      } while (this.again && this.running);
    } catch (err) {
      this.deps.logger.error({ err }, "dispatcher could not claim deliveries");
    } finally {
      this.pumping = false;
    }
    await this.armTimer();
  }

  private async claimAndLaunch(now: number): Promise<number> {
    const { config, store } = this.deps;
    const capacity = config.delivery.concurrency - this.inflight;
    if (capacity <= 0) return 0;
    const leaseMs = config.delivery.timeout + LEASE_MARGIN_MS;
    const cap = config.delivery.per_webhook_concurrency;
    let started = 0;
    // Fresh deliveries first, by id: no search of the pending rows.
    const offered = this.handoff.take(capacity, cap, this.perWebhook);
    if (offered.length > 0) {
      const fresh = await store.claimByIds(offered, now, leaseMs);
      for (const c of fresh) this.launch(c, false);
      started = fresh.length;
    }
    const left = capacity - started;
    if (left > 0 && this.scanNeeded) {
      const claims = await store.claimDue(now, { limit: left, leaseMs, perWebhookCap: cap, inflight: this.perWebhook });
      for (const c of claims) this.launch(c, false);
      started += claims.length;
      // A full batch means more may be due; a short one, that the database has no more for now
      // except for webhooks at their cap (their freed slots re-arm the scan: dbOnly).
      this.scanNeeded = claims.length === left;
      if (!this.scanNeeded) this.scanCameBackShort();
    }
    this.lastClaimed = started;
    if (started === capacity) this.again = true;
    return started;
  }

  private scanCameBackShort(): void {
    const cap = this.deps.config.delivery.per_webhook_concurrency;
    this.dbBacklog = false;
    // Those with room were searched and have nothing left there; those at their cap may have.
    for (const id of this.dbOnly) if ((this.perWebhook.get(id) ?? 0) < cap) this.dbOnly.delete(id);
    for (const [id, n] of this.perWebhook) if (n >= cap) this.dbOnly.add(id);
  }

  private dbOnlyHasRoom(): boolean {
    const cap = this.deps.config.delivery.per_webhook_concurrency;
    for (const id of this.dbOnly) if ((this.perWebhook.get(id) ?? 0) < cap) return true;
    return false;
  }

  /** A slot is free again. */
  private release(webhookId: string): void {
    this.inflight--;
    const left = (this.perWebhook.get(webhookId) ?? 1) - 1;
    if (left > 0) this.perWebhook.set(webhookId, left);
    else this.perWebhook.delete(webhookId);
  }

  private launch(d: ClaimedDelivery, manual: boolean, reserved = false): void {
    if (!reserved) {
      this.inflight++;
      this.perWebhook.set(d.webhookId, (this.perWebhook.get(d.webhookId) ?? 0) + 1);
    }
    if (!manual) this.claimed.add(d.id);
    const task = runAttempt(this.deps, d, manual)
      .then((outcome) => this.record(outcome))
      .catch((err: unknown) => {
        // The claim stays leased and comes back after the lease: nothing is lost.
        this.deps.logger.error({ err, delivery_id: d.id }, "attempt could not be recorded");
      })
      .finally(() => {
        this.release(d.webhookId);
        this.claimed.delete(d.id);
        this.tasks.delete(task);
        // A freed slot: the hand-off feeds it, or else the database may have something — also
        // when the hand-off is not empty but does not hold everything: after a wake-up, or for
        // a webhook with work in the database only that now has room (a hand-off full of a
        // hanging receiver's work must not starve the others, nor make every slot search).
        if (this.handoff.size === 0 || this.dbBacklog || this.dbOnlyHasRoom()) this.scanNeeded = true;
        this.schedule();
      });
    this.tasks.add(task);
  }

  /** Outcomes finishing in the same turn are written in one transaction. */
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
    return new Promise<void>((done) => {
      this.outcomes.push({ outcome, done });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flushOutcomes());
      }
    });
  }

  private flushOutcomes(): void {
    this.flushScheduled = false;
    const batch = this.outcomes;
    this.outcomes = [];
    if (batch.length === 0) return;
    const now = this.deps.clock.now();
    this.deps.store
      .recordOutcomes(
        batch.map((b) => b.outcome),
        now,
        this.deps.config.delivery.disable_after,
      )
      .then((disabled) => {
        this.deps.metrics.webhooksDisabled.inc(disabled.length);
        for (const id of disabled) this.deps.logger.warn({ webhook_id: id }, "webhook disabled");
      })
      .catch((err: unknown) => this.deps.logger.error({ err }, "attempt outcomes could not be written"))
      .finally(() => {
        for (const b of batch) b.done();
      });
  }

  /** Sleeps until the next scheduled retry (bounded), so retries are not late by a sweep period. */
  private async armTimer(): Promise<void> {
    if (!this.running) return;
    if (this.timer) clearTimeout(this.timer);
    let delay = MAX_IDLE_MS;
    try {
      const due = await this.deps.store.nextDueAt();
      if (due !== undefined) delay = Math.min(MAX_IDLE_MS, Math.max(0, due - this.deps.clock.now()));
      // Due work that could not be claimed waits for a free slot; finishing attempts wake us,
      // so only look again now and then instead of spinning.
      if (delay === 0 && this.lastClaimed === 0) delay = 1_000;
    } catch {
      // The sweep will wake us.
    }
    this.timer = setTimeout(() => this.wake(), delay);
    this.timer.unref?.();
  }
}
