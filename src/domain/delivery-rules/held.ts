// A delivery its ingest claimed and held for this process (the dispatcher's hand-off), once a
// slot is free: whether it may be sent as the ingest prepared it, and what becomes of it when its
// webhook was disabled meanwhile. Pure: the store's confirmHeld and releaseHeld ask, then renew,
// re-read or fail it with their statements. Whether the lease is still the ingest's is the
// store's conditional write (a fencing check), not a rule. Tables in
// test/delivery/claim-rules.test.ts.
import { TEST_EVENT_TYPE } from "../event-patterns.ts";
import type { IngestClaimed } from "../store.ts";
import { disabledError } from "../webhooks/render.ts";

export type HeldCheck =
  /** Sent as the ingest prepared it, without asking the database. */
  | "as-prepared"
  /**
   * Sent as prepared if the database still has the webhook as the ingest read it (the same
   * updated_at: every change moves it) and the lease still the ingest's; else read again.
   */
  | "if-unchanged"
  /** Read again, its lease renewed if still the ingest's. */
  | "reread";

/**
 * `generation` is the store's count of webhook changes seen by this process now; `freshMs` how
 * long a change made by another process can go unseen here (the subscriber cache's lifetime).
 */
export function checkHeld(c: IngestClaimed, generation: number, now: number, freshMs: number): HeldCheck {
  // A webhook changed in this process since the ingest: the generation says so without a query,
  // and what the ingest prepared may be stale (a URL, a secret).
  if (c.webhookGeneration !== generation) return "reread";
  // No change here, and not longer ago than another process's change could go unseen: as
  // prepared. The ingest's lease then still outlives a whole attempt (taken under freshMs ago).
  if (now - c.delivery.createdAt <= freshMs) return "as-prepared";
  // Older: only another process could have changed it, and the database tells.
  return "if-unchanged";
}

/**
 * Why a held delivery must be failed instead of sent (or given back pending, where a claim would
 * send it): its webhook was disabled after the ingest, and the disable failed the pending
 * deliveries, not the held ones. The error to fail it with, or undefined when it may go. The
 * test event goes to a disabled webhook too (API.md); `webhook` undefined: deleted, and its
 * deliveries with it.
 */
export function heldRefusal(
  eventType: string,
  webhook: { enabled: boolean; disabledReason: string | null } | undefined,
): string | undefined {
  if (eventType === TEST_EVENT_TYPE || webhook === undefined || webhook.enabled) return undefined;
  // No reason recorded: read as the PATCH that disables says it ("manual").
  return disabledError(webhook.disabledReason ?? "manual");
}
