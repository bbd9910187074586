import type { SlotLedger } from "./slot-ledger.ts";

/**
 * Whether a free slot should look for due work in the database (a claim: a transaction on the
 * writer) or rely on what the ingests handed over (offers, held deliveries). Searching on every
 * freed slot would cost one claim transaction per delivery; never searching would strand work
 * that only the database knows about: due retries, deliveries the hand-off had no room for,
 * held ones given back. So each way work can end up in the database only says so here, and a
 * short scan (it found everything due except for webhooks at their cap) says it is all taken.
 * No I/O, no clock: the dispatcher reports events and asks shouldScan before each claim.
 */
export class ScanDecision {
  /** Due work may be in the database that the hand-off does not know about: look at the next chance. */
  private needed = true;
  /**
   * Anyone's due work may be in the database without the hand-off knowing (a wake-up: start,
   * sweep, retry timer; or the hand-off had no room at all), so every freed slot looks there
   * too. Cleared by a scan that came back short.
   */
  private backlog = true;
  /**
   * Webhooks that may have due work in the database only: at their cap when the last short scan
   * ran, without room in the hand-off at an ingest, or whose held deliveries went back. A freed
   * slot scans only while one of them has room, so a hanging receiver's backlog does not make
   * every other slot search.
   */
  private readonly dbOnly = new Set<string>();

  constructor(private readonly slots: Pick<SlotLedger, "hasRoom" | "byWebhook">) {}

  /** A wake-up (start, sweep, recover, the retry timer, dispatchOnce): anything may be due there. */
  wake(): void {
    this.needed = true;
    this.backlog = true;
  }

  /**
   * A delivery stays pending in the database: an ingest found no room in the hand-off
   * ("webhook": that webhook's share is full; "all": the whole of it), or it aged there and goes
   * back ("webhook"). Harmless if that does not happen after all (a rollback): a scan finds less.
   */
  leftInDatabase(webhookId: string, noRoomFor: "webhook" | "all"): void {
    if (noRoomFor === "webhook") this.dbOnly.add(webhookId);
    else this.backlog = true;
  }

  /**
   * Something may be pending in the database now: a reservation came back unused (a replay, its
   * webhook changed before the write), or held deliveries were given back (after they were said
   * to be leftInDatabase, so that their webhooks' slots look there).
   */
  mayBeDue(): void {
    this.needed = true;
  }

  /** Committed deliveries that their ingest could not claim (leftInDatabase said whose) were offered. */
  unclaimedOffered(): void {
    if (this.backlog || this.dbOnlyHasRoom()) this.needed = true;
  }

  /**
   * A slot is free: the hand-off feeds it, or else the database may have something — also when
   * the hand-off is not empty but does not hold everything: after a wake-up, or for a webhook
   * with work in the database only that now has room (a hand-off full of a hanging receiver's
   * work must not starve the others, nor make every slot search).
   */
  slotFreed(held: number): void {
    if (held === 0 || this.backlog || this.dbOnlyHasRoom()) this.needed = true;
  }

  /**
   * Whether a claim from the database may find something now, with `held` deliveries in the
   * hand-off. With an empty hand-off, look whenever asked; otherwise only if something may be
   * in the database without the hand-off knowing, for a webhook with room: the hand-off may
   * just have filled the slot that asked for it.
   */
  shouldScan(held: number): boolean {
    return this.needed && !(held > 0 && !this.backlog && !this.dbOnlyHasRoom());
  }

  /**
   * A scan asked for `asked` deliveries and got `got`. A full batch means more may be due; a
   * short one, that the database has no more for now except for webhooks at their cap (their
   * freed slots re-arm the scan: dbOnly).
   */
  scanned(asked: number, got: number): void {
    this.needed = got === asked;
    if (this.needed) return;
    this.backlog = false;
    // Those with room were searched and have nothing left there; those at their cap may have.
    for (const id of this.dbOnly) if (this.slots.hasRoom(id)) this.dbOnly.delete(id);
    for (const id of this.slots.byWebhook.keys()) if (!this.slots.hasRoom(id)) this.dbOnly.add(id);
  }

  private dbOnlyHasRoom(): boolean {
    for (const id of this.dbOnly) if (this.slots.hasRoom(id)) return true;
    return false;
  }
}
