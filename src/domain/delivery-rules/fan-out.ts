// Which webhooks an event fans out to, which of those deliveries its ingest claims for this
// process, and what becomes of a planned delivery whose webhook changed before the write. Pure,
// but for the dispatcher's reservation it is handed (IngestClaim.take, as retry-policy.ts is
// handed `random`): a store reads the candidate webhooks (cached or not), calls planFanOut,
// writes the rows, and asks recheckPlanned about each row whose webhook is no longer the one the
// plan read. The tables in test/delivery/fan-out-rules.test.ts pin every rule (API.md §10
// "Patterns", send-test).
import { matchesAny } from "../event-patterns.ts";
import type { IngestClaim, IngestTake, NewDelivery } from "../store.ts";

/** A webhook as the fan-out looks at it. */
export interface Receiver {
  readonly enabled: boolean;
  /** Its `events` patterns. */
  readonly patterns: readonly string[];
}

/**
 * Whether a webhook gets a delivery of an event of `type`: enabled, and one of its patterns
 * matches. The test endpoint's event (`test`) goes to its one webhook whatever its state and
 * patterns: testing a disabled webhook before re-enabling it is what the endpoint is for.
 */
export function receives(w: Receiver, type: string, test: boolean): boolean {
  return test || (w.enabled && matchesAny(w.patterns, type));
}

export interface FanOutOptions {
  /** The test endpoint: one delivery, to this webhook only. */
  onlyWebhookId?: string | undefined;
  /** The dispatcher's room for claims; absent, every delivery is written pending. */
  claim?: IngestClaim | undefined;
}

/** An event's deliveries: to whom, and which of them its ingest claims for this process. */
export interface FanOutPlan<W> {
  /** The webhooks that get a delivery, in the candidates' order. */
  to: W[];
  /**
   * For each of `to`: "send" or "hold" when claimed (delivering under a lease), as
   * IngestClaim.take answered; null when written pending, for a claim to find.
   */
  claimed: (IngestTake | null)[];
  /** The claimed ones' lease: `leaseMs` after the event's creation, the ingest's own time. */
  leaseExpiresAt: number | null;
}

/**
 * The deliveries of an event among `candidates` (the tenant's webhooks, or the test endpoint's
 * one). Each is claimed for this process when the dispatcher has room for it: `claim.take`
 * reserves that room as it answers (a slot, else a place in the hand-off), once per delivery,
 * so room taken must be given back if the write does not create it (unusedRoom).
 */
export function planFanOut<W extends Receiver & { readonly id: string }>(
  event: { type: string; payload: string; createdAt: number },
  candidates: readonly W[],
  opts: FanOutOptions,
): FanOutPlan<W> {
  const only = opts.onlyWebhookId;
  const test = only !== undefined;
  const claim = opts.claim;
  const to: W[] = [];
  const claimed: (IngestTake | null)[] = [];
  for (const w of candidates) {
    if ((test && w.id !== only) || !receives(w, event.type, test)) continue;
    to.push(w);
    claimed.push(claim?.take(w.id, event.payload.length) ?? null);
  }
  return { to, claimed, leaseExpiresAt: claim === undefined ? null : event.createdAt + claim.leaseMs };
}

/** What the write does with a planned delivery. */
export type AtWrite =
  /** Written as planned. */
  | "planned"
  /** Written pending instead of claimed: sent only after a claim reads the webhook as it is now. */
  | "pending"
  /** Not written: the webhook no longer gets it. */
  | "skip";

/**
 * A planned delivery whose webhook changed after the plan read it (and maybe from a cache): a
 * PATCH, a disable, a delete committed meanwhile. `current` is the webhook as the write sees it,
 * null when deleted. Still a receiver: written, but a claim is not sent with what the plan read
 * (an old URL, secret or headers), so it becomes pending. No longer one (deleted, disabled,
 * unsubscribed): left out — a disable fails the pending deliveries, and this one would escape it.
 */
export function recheckPlanned(
  status: "pending" | "delivering",
  current: Receiver | null,
  type: string,
  test: boolean,
): AtWrite {
  if (current === null || !receives(current, type, test)) return "skip";
  return status === "delivering" ? "pending" : "planned";
}

/** The ids of the deliveries the write left out or wrote pending instead of claimed. */
export interface WrittenFanOut {
  skipped: readonly string[];
  pending: readonly string[];
}

/**
 * The room the plan took (one entry per claimed delivery) that goes back to the dispatcher:
 * all of it when nothing was created (the write failed, or an earlier event owns the
 * idempotency key), else that of the deliveries left out or written pending.
 */
export function unusedRoom<T extends { deliveryId: string }>(taken: readonly T[], written: WrittenFanOut | null): readonly T[] {
  if (written === null) return taken;
  if (written.skipped.length === 0 && written.pending.length === 0) return NOTHING;
  const unused = new Set([...written.skipped, ...written.pending]);
  return taken.filter((x) => unused.has(x.deliveryId));
}

/**
 * What the dispatcher gets after the commit: the planned deliveries less those left out, and
 * those written pending without their claim (a claim finds them in the database).
 */
export function handedOver(planned: NewDelivery[], written: WrittenFanOut): NewDelivery[] {
  if (written.skipped.length === 0 && written.pending.length === 0) return planned;
  const skipped = new Set(written.skipped);
  const pending = new Set(written.pending);
  return planned.filter((d) => !skipped.has(d.id)).map((d) => (pending.has(d.id) ? { id: d.id, webhookId: d.webhookId } : d));
}

const NOTHING: readonly never[] = [];
