import type { CommittedWork, DispatchHandle } from "../domain/dispatcher-port.ts";
import type { AttemptOutcome, ClaimedDelivery, IngestClaim, NewDelivery, Store } from "../domain/store.ts";
import type { Logger } from "../observability/logger.ts";
import type { Metrics } from "../observability/metrics.ts";
import { type AttemptDeps, runAttempt } from "./attempt.ts";
import { Handoff } from "./handoff.ts";
import { OutcomeWriter } from "./outcome-writer.ts";

// How long past the attempt timeout a claim stays ours: the lease must outlive every attempt
// that is still running, or another process could claim it too early.
const LEASE_MARGIN_MS = 5_000;
// The longest the dispatcher sleeps with nothing due; the sweep also wakes it.
const MAX_IDLE_MS = 30_000;
// Held deliveries kept in memory at most, in number and in payload bytes (a quarter of each per
// webhook); beyond, they stay pending and are found in the database.
const MAX_HANDOFF = 10_000;
const MAX_HANDOFF_BYTES = 16 * 1024 * 1024;
// How often held deliveries are checked for a lease that could run out before they are sent.
const HOLD_CHECK_MS = 1_000;

export interface DispatcherDeps extends AttemptDeps {
  store: Store;
  /** Held deliveries kept in memory at most (tests shrink it). */
  handoffMax?: number;
  logger: Logger;
  metrics: Metrics;
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
  // A claim is waiting for the writer: the slots it picked are not counted yet, so ingests
  // must not take slots meanwhile (they hold instead) or the caps could be exceeded.
  private claiming = false;
  // stop() was called (not merely never started: tests drive dispatchOnce without start).
  private stopped = false;
  // Attempts answered whose outcome is not written yet.
  private unwritten = 0;
  private again = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private holdTimer: ReturnType<typeof setInterval> | undefined;
  private readonly outcomes: OutcomeWriter;
  private lastClaimed = 0;
  private readonly handoff: Handoff;
  /** Whether due work may be in the database that the hand-off does not know about. */
  private scanNeeded = true;
  /**
   * Anyone's due work may be in the database without the hand-off knowing (a wake-up: start,
   * sweep, retry timer; or the hand-off had no room), so every freed slot looks there too. Cleared
   * by a scan that came back short: it took everything due except for webhooks at their cap.
   */
  private dbBacklog = true;
  /**
   * Webhooks that may have due work in the database only: at their cap when the last short scan
   * ran, or without room in the hand-off at an ingest. A freed slot scans only while one of
   * them has room, so a hanging receiver's backlog does not make every other slot search.
   */
  private readonly dbOnly = new Set<string>();

  constructor(private readonly deps: DispatcherDeps) {
    this.handoff = deps.handoffMax ? new Handoff(deps.handoffMax) : new Handoff(MAX_HANDOFF, undefined, MAX_HANDOFF_BYTES);
    this.ingestClaim.leaseMs = deps.config.delivery.timeout + LEASE_MARGIN_MS;
    const { store, clock, config, logger, metrics } = deps;
    this.outcomes = new OutcomeWriter({ store, clock, disableAfterMs: config.delivery.disable_after, logger, metrics });
  }

  get isRunning(): boolean {
    return this.running;
  }

  get inFlight(): number {
    return this.inflight;
  }

  /** Deliveries held in memory (claimed by their ingest) for a free slot. */
  get held(): number {
    return this.handoff.size;
  }

  start(): void {
    this.running = true;
    this.stopped = false;
    this.holdTimer = setInterval(() => void this.releaseAgeingHolds(), HOLD_CHECK_MS);
    this.holdTimer.unref?.();
    this.wake();
  }

  /** Something may be due in the database (a sweep, a recover, the retry timer): look. */
  wake(): void {
    this.scanNeeded = true;
    this.dbBacklog = true;
    this.schedule();
  }

  /**
   * Room is reserved inside the ingest transaction (take): a slot, or a place in the hand-off;
   * the claimed deliveries come back through offer() once it committed, and a rollback gives
   * the room back.
   */
  private readonly ingestClaim: IngestClaim = {
    leaseMs: 0, // set in the constructor
    take: (webhookId, payloadLength) => {
      if (!this.running) return undefined;
      const used = this.perWebhook.get(webhookId) ?? 0;
      if (!this.claiming && this.freeSlots() > 0 && used < this.deps.config.delivery.per_webhook_concurrency) {
        this.inflight++;
        this.perWebhook.set(webhookId, used + 1);
        return "send";
      }
      const room = this.handoff.reserve(webhookId, payloadLength);
      if (room === "ok") return "hold";
      // Pending in the database: only a scan finds it (the flags are harmless on a rollback).
      if (room === "webhook") this.dbOnly.add(webhookId);
      else this.dbBacklog = true;
      return undefined;
    },
    giveBack: (webhookId, taken, payloadLength) => {
      if (taken === "send") this.release(webhookId);
      else this.handoff.unreserve(webhookId, payloadLength);
      // Its delivery was not created as claimed (a replay, or its webhook changed before the
      // write): the room is free for others, and a pending row may be waiting in the database.
      this.scanNeeded = true;
      this.schedule();
    },
  };

  claimHook(): IngestClaim | undefined {
    return this.running ? this.ingestClaim : undefined;
  }

  committed(work: CommittedWork): void {
    // Offered first: the deliveries claimed as "send" hold slots until they are launched.
    if (work.deliveries.length > 0) this.offer(work.deliveries);
    if (work.origin === "publish") this.deps.metrics.eventsIngested.inc();
    this.deps.metrics.deliveriesCreated.inc(work.deliveries.length);
  }

  offer(deliveries: NewDelivery[]): void {
    const held: NewDelivery[] = [];
    let unclaimed = false;
    for (const d of deliveries) {
      // Claimed in the ingest transaction, its slot already counted: send it now.
      if (d.claim?.as === "send") this.launch(d.claim.delivery, false, true);
      else if (d.claim?.as === "hold") held.push(d);
      else unclaimed = true;
    }
    if (!this.running) {
      // Stopped between the ingest's claim and its commit: give the held ones back at once
      // rather than after their lease (the database may already be closing: best effort).
      if (held.length > 0) this.giveBackHeld(held);
      return;
    }
    this.handoff.add(held);
    // Pending in the database for lack of room here (take() marked whose): a scan finds them as
    // soon as one of those webhooks has a free slot.
    if (unclaimed && (this.dbBacklog || this.dbOnlyHasRoom())) this.scanNeeded = true;
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
    this.dbBacklog = true;
    const started = await this.claimAndLaunch(now);
    await Promise.all([...this.tasks]);
    return started;
  }

  /** Stops claiming, lets in-flight attempts finish within `graceMs`, gives back the rest. */
  async stop(graceMs: number): Promise<void> {
    this.running = false;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.holdTimer) clearInterval(this.holdTimer);
    // Held, never sent: pending again now, so whoever starts next sends them without waiting
    // for their lease.
    const held = this.handoff.clear();
    if (held.length > 0) await this.giveBackHeld(held);
    const all = Promise.all([...this.tasks]);
    const timedOut = await Promise.race([
      all.then(() => false),
      new Promise<boolean>((r) => setTimeout(() => r(true), graceMs).unref()),
    ]);
    await this.outcomes.drain();
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
    const capacity = this.freeSlots();
    if (capacity <= 0) return 0;
    this.claiming = true;
    try {
      return await this.claimInto(now, capacity);
    } finally {
      this.claiming = false;
    }
  }

  private async claimInto(now: number, capacity: number): Promise<number> {
    const { config, store } = this.deps;
    const leaseMs = config.delivery.timeout + LEASE_MARGIN_MS;
    const cap = config.delivery.per_webhook_concurrency;
    let started = 0;
    // Held deliveries first: claimed by their ingest, no search of the pending rows. Those the
    // store no longer confirms (webhook disabled or deleted, lease lost) leave their slot free
    // for the next ones.
    for (;;) {
      const held = this.handoff.take(capacity - started, cap, this.perWebhook);
      if (held.length === 0) break;
      const confirmed = await store.confirmHeld(held, now, leaseMs);
      for (const c of confirmed) this.launch(c, false);
      started += confirmed.length;
      if (confirmed.length === held.length) break;
    }
    const left = capacity - started;
    // A scan can only give something when some webhook with room may have work in the database
    // only: the hand-off may just have filled the slot that asked for it.
    if (left > 0 && this.scanNeeded && !this.scanWouldFindNothing()) {
      const claims = await store.claimDue(now, { limit: left, leaseMs, perWebhookCap: cap, inflight: this.perWebhook });
      if (this.stopped) {
        // Stopped while the claim was being written: give them back now rather than after
        // their lease.
        await store.releaseClaims(
          claims.map((c) => c.id),
          this.deps.clock.now(),
        );
        return started;
      }
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

  /**
   * Nothing due can be in the database without the hand-off knowing (no wake-up since the last
   * short scan, nothing left out of the hand-off), or only for webhooks at their cap now; with
   * an empty hand-off, look anyway.
   */
  private scanWouldFindNothing(): boolean {
    return this.handoff.size > 0 && !this.dbBacklog && !this.dbOnlyHasRoom();
  }

  private dbOnlyHasRoom(): boolean {
    const cap = this.deps.config.delivery.per_webhook_concurrency;
    for (const id of this.dbOnly) if ((this.perWebhook.get(id) ?? 0) < cap) return true;
    return false;
  }

  /**
   * Held deliveries whose lease has less than LEASE_MARGIN_MS left after this check's period
   * go back to pending, before the sweep would take them for a crashed process's: a hand-off
   * that long is a receiver too slow for its share (a hanging one), and the database is where
   * its backlog waits. Runs every HOLD_CHECK_MS; tests call it with their own clock.
   */
  async releaseAgeingHolds(now: number = this.deps.clock.now()): Promise<number> {
    const leaseMs = this.deps.config.delivery.timeout + LEASE_MARGIN_MS;
    const ageing = this.handoff.takeOlderThan(now - leaseMs + LEASE_MARGIN_MS + HOLD_CHECK_MS);
    if (ageing.length === 0) return 0;
    for (const d of ageing) this.dbOnly.add(d.webhookId);
    await this.giveBackHeld(ageing, now);
    this.scanNeeded = true;
    this.schedule();
    return ageing.length;
  }

  private giveBackHeld(held: NewDelivery[], now: number = this.deps.clock.now()): Promise<void> {
    return this.deps.store
      .releaseHeld(held, now)
      .catch((err: unknown) => this.deps.logger.error({ err, held: held.length }, "held deliveries could not be given back"));
  }

  /**
   * Slots free for new attempts. An attempt gives its slot back when its answer (or error)
   * arrives, before its outcome is written (the writer may be busy with a commit): the slot
   * bounds requests to receivers. Outcomes still to be written are bounded too, by as many again.
   */
  private freeSlots(): number {
    const max = this.deps.config.delivery.concurrency;
    return Math.max(0, Math.min(max - this.inflight, max - this.unwritten));
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
    let freed = false;
    const free = () => {
      if (freed) return;
      freed = true;
      this.release(d.webhookId);
      this.unwritten++;
      // A freed slot: the hand-off feeds it, or else the database may have something — also
      // when the hand-off is not empty but does not hold everything: after a wake-up, or for
      // a webhook with work in the database only that now has room (a hand-off full of a
      // hanging receiver's work must not starve the others, nor make every slot search).
      if (this.handoff.size === 0 || this.dbBacklog || this.dbOnlyHasRoom()) this.scanNeeded = true;
      this.schedule();
    };
    const task = runAttempt(this.deps, d, manual)
      .then((outcome) => {
        // Still "delivering" in the database until its outcome is written: no claim takes it.
        free();
        return this.record(outcome).finally(() => this.unwritten--);
      })
      .catch((err: unknown) => {
        // The claim stays leased and comes back after the lease: nothing is lost.
        this.deps.logger.error({ err, delivery_id: d.id }, "attempt could not be recorded");
      })
      .finally(() => {
        this.claimed.delete(d.id);
        this.tasks.delete(task);
        free();
        // Outcomes written: room for more if their bound held new attempts back.
        this.schedule();
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
