import type { Clock } from "../domain/clock.ts";
import type { IngestClaim, NewDelivery, Store } from "../domain/store.ts";
import type { Logger } from "../observability/logger.ts";
import type { Attempts } from "./attempts.ts";
import { Handoff } from "./handoff.ts";
import type { ScanDecision } from "./scan-decision.ts";
import type { SlotLedger } from "./slot-ledger.ts";

// Held deliveries kept in memory at most, in number and in payload bytes (a quarter of each per
// webhook); beyond, they stay pending and are found in the database.
const MAX_HANDOFF = 10_000;
const MAX_HANDOFF_BYTES = 16 * 1024 * 1024;
// How long past the attempt timeout a claim stays ours: the lease must outlive every attempt
// that is still running, or another process could claim it too early.
export const LEASE_MARGIN_MS = 5_000;
// How often held deliveries are checked for a lease that could run out before they are sent.
export const HOLD_CHECK_MS = 1_000;

export interface IntakeDeps {
  store: Pick<Store, "releaseHeld">;
  clock: Clock;
  logger: Pick<Logger, "error">;
  /** Held deliveries kept in memory at most (tests shrink it). */
  handoffMax?: number | undefined;
}

/** What the intake asks of the pump. */
export interface IntakeHost {
  /** Started and not stopping: only then do ingests claim and held deliveries stay. */
  accepting(): boolean;
  /** Something changed: run a pump pass soon. */
  schedule(): void;
}

/**
 * What ingests hand the dispatcher: the claim they make inside their own transaction (a slot
 * now, a place in the hand-off, or nothing: pending in the database), and once committed the
 * deliveries themselves (offer). Held deliveries wait in the hand-off for the pump, and go back
 * to the database before their lease could run out.
 */
export class Intake {
  readonly handoff: Handoff;
  /**
   * Room is reserved inside the ingest transaction (take): a slot, or a place in the hand-off;
   * the claimed deliveries come back through offer() once it committed, and a rollback gives
   * the room back.
   */
  readonly claim: IngestClaim;

  constructor(
    private readonly deps: IntakeDeps,
    slots: SlotLedger,
    private readonly scan: ScanDecision,
    private readonly attempts: Pick<Attempts, "launch">,
    private readonly host: IntakeHost,
    private readonly leaseMs: number,
  ) {
    this.handoff = deps.handoffMax ? new Handoff(deps.handoffMax) : new Handoff(MAX_HANDOFF, undefined, MAX_HANDOFF_BYTES);
    this.claim = {
      leaseMs,
      take: (webhookId, payloadLength) => {
        if (!host.accepting()) return undefined;
        if (slots.tryReserve(webhookId)) return "send";
        const room = this.handoff.reserve(webhookId, payloadLength);
        if (room === "ok") return "hold";
        scan.leftInDatabase(webhookId, room);
        return undefined;
      },
      giveBack: (webhookId, taken, payloadLength) => {
        if (taken === "send") slots.release(webhookId);
        else this.handoff.unreserve(webhookId, payloadLength);
        // Its delivery was not created as claimed (a replay, or its webhook changed before the
        // write): the room is free for others, and a pending row may be waiting in the database.
        scan.mayBeDue();
        host.schedule();
      },
    };
  }

  offer(deliveries: NewDelivery[]): void {
    const held: NewDelivery[] = [];
    let unclaimed = false;
    for (const d of deliveries) {
      // Claimed in the ingest transaction, its slot already counted: send it now.
      if (d.claim?.as === "send") this.attempts.launch(d.claim.delivery, false, true);
      else if (d.claim?.as === "hold") held.push(d);
      else unclaimed = true;
    }
    if (!this.host.accepting()) {
      // Stopped between the ingest's claim and its commit: give the held ones back at once
      // rather than after their lease (the database may already be closing: best effort).
      if (held.length > 0) void this.giveBack(held);
      return;
    }
    this.handoff.add(held);
    // Pending in the database for lack of room here (take() said whose): a scan finds them as
    // soon as one of those webhooks has a free slot.
    if (unclaimed) this.scan.unclaimedOffered();
    this.host.schedule();
  }

  /**
   * Held deliveries whose lease has less than LEASE_MARGIN_MS left after this check's period
   * go back to pending, before the sweep would take them for a crashed process's: a hand-off
   * that long is a receiver too slow for its share (a hanging one), and the database is where
   * its backlog waits. Runs every HOLD_CHECK_MS; tests call it with their own clock.
   */
  async releaseAgeing(now: number): Promise<number> {
    const ageing = this.handoff.takeOlderThan(now - this.leaseMs + LEASE_MARGIN_MS + HOLD_CHECK_MS);
    if (ageing.length === 0) return 0;
    for (const d of ageing) this.scan.leftInDatabase(d.webhookId, "webhook");
    await this.giveBack(ageing, now);
    this.scan.mayBeDue();
    this.host.schedule();
    return ageing.length;
  }

  /** Every held delivery back to pending, due now, so whoever starts next sends them without waiting. */
  async releaseAll(): Promise<void> {
    const held = this.handoff.clear();
    if (held.length > 0) await this.giveBack(held);
  }

  private giveBack(held: NewDelivery[], now: number = this.deps.clock.now()): Promise<void> {
    return this.deps.store
      .releaseHeld(held, now)
      .catch((err: unknown) => this.deps.logger.error({ err, held: held.length }, "held deliveries could not be given back"));
  }
}
