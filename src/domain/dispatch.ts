import type { ClaimedDelivery } from "./store.ts";

/** What the API and domain need of the dispatcher: a nudge after a commit, and a manual attempt. */
export interface DispatchHandle {
  /** New deliveries were committed: look for due work now rather than at the next sweep. */
  wake(): void;
  /** One attempt right away, outside the schedule (manual retry). */
  attemptNow(delivery: ClaimedDelivery): void;
}
