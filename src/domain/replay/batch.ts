// Which events of a replay batch get a delivery (API.md §14): those the webhook's subscription
// matches now — its patterns, narrowed by the job's event types — whatever happened to them
// before. Pure, shared by both stores: each reads the batch, asks this, and writes the answer.
import { idTimeMs } from "../../lib/ids.ts";
import { matchesAny } from "../event-patterns.ts";

/** An event as a batch reads it: enough to decide, not its payload. */
export interface ReplayCandidate {
  id: string;
  type: string;
  /** Retention dropped its payload (retention.payload_days): there is nothing to send. */
  dropped: boolean;
}

export interface ReplayPlan {
  /** Events to deliver again, in the order read. */
  deliver: ReplayCandidate[];
  matched: number;
  /** Matched, but their payload is gone. */
  skipped: number;
}

export function replayMatches(patterns: readonly string[], eventTypes: readonly string[] | null, type: string): boolean {
  return matchesAny(patterns, type) && (eventTypes === null || matchesAny(eventTypes, type));
}

export function planReplayBatch(
  events: readonly ReplayCandidate[],
  patterns: readonly string[],
  eventTypes: readonly string[] | null,
): ReplayPlan {
  const deliver: ReplayCandidate[] = [];
  let matched = 0;
  let skipped = 0;
  for (const e of events) {
    if (!replayMatches(patterns, eventTypes, e.type)) continue;
    matched++;
    if (e.dropped) skipped++;
    else deliver.push(e);
  }
  return { deliver, matched, skipped };
}

/**
 * Ids made in the same millisecond, or after the clock stepped back, continue from the last one
 * (lib/ids.ts), so an event's id may sort after its created_at: by a little normally, by as much
 * as the clock stepped back otherwise. A replay reads the window's events by id up to this
 * bound (created_at decides exactly): `until` plus a minute, plus how far the id generator ran
 * ahead of the clock when the job was made, which the job's own id records (its id was made at
 * `startedAt`). Without that last part, a step back of more than a minute before the job hid
 * the events published meanwhile from it.
 */
export const REPLAY_ID_SLACK_MS = 60_000;

export function replayIdUpperMs(job: { id: string; until: number; startedAt: number }): number {
  return job.until + REPLAY_ID_SLACK_MS + Math.max(0, idTimeMs(job.id) - job.startedAt);
}
