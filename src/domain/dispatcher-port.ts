import type { ClaimedDelivery, IngestClaim, NewDelivery } from "./store.ts";

/** Deliveries an ingest committed, handed to the dispatcher once, right after the commit. */
export interface CommittedWork {
  /** "publish": an event accepted with a 202 (counted as ingested); "test": the test endpoint's event. */
  origin: "publish" | "test";
  deliveries: NewDelivery[];
}

/** What the API and domain need of the dispatcher: committed work, a nudge, and a manual attempt. */
export interface DispatchHandle {
  /** Something may be due in the database (a recover, the sweep): look now rather than later. */
  wake(): void;
  /**
   * An ingest committed (see commitAndHandOff, the one caller): its deliveries are offered and
   * counted. Those it claimed are sent at once or held for a slot, without looking for them in
   * the database; the database stays the source of truth, and the next claim finds the rest.
   */
  committed(work: CommittedWork): void;
  /**
   * Deliveries just committed, claimed or not (committed() offers through it). Those claimed
   * by their ingest ("send") have their slot counted already: offered late, the slot is idle.
   */
  offer(deliveries: NewDelivery[]): void;
  /** For an ingest to claim its deliveries in its own transaction; undefined when stopped. */
  claimHook(): IngestClaim | undefined;
  /** One attempt right away, outside the schedule (manual retry). */
  attemptNow(delivery: ClaimedDelivery): void;
}
