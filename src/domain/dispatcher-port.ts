import type { ClaimedDelivery, IngestClaim, NewDelivery } from "./store.ts";

/** What the API and domain need of the dispatcher: a nudge after a commit, and a manual attempt. */
export interface DispatchHandle {
  /** New deliveries were committed: look for due work now rather than at the next sweep. */
  wake(): void;
  /**
   * Deliveries just committed: claimed by id and sent at once when there is room, without
   * looking for them in the database. The database stays the source of truth: what is not
   * taken here is found by the next claim.
   */
  offer(deliveries: NewDelivery[]): void;
  /** For an ingest to claim its deliveries in its own transaction; undefined when stopped. */
  claimHook(): IngestClaim | undefined;
  /** One attempt right away, outside the schedule (manual retry). */
  attemptNow(delivery: ClaimedDelivery): void;
}
