// What a replay request asks for (API.md §14): a window of the tenant's past events and, maybe,
// fewer event types than the webhook subscribes to. Pure: every bad field is named, all at once.
import { EVENT_TYPE_RE, PREFIX_PATTERN_RE } from "../event-patterns.ts";

const DAY_MS = 86_400_000;
const RFC3339_RE = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$/i;
const MAX_EVENT_TYPES = 100;

export interface ReplayWindow {
  since: number;
  until: number;
  eventTypes: string[] | null;
}

export type WindowCheck = { ok: true; window: ReplayWindow } | { ok: false; errors: string[] };

function time(field: string, value: unknown, errors: string[]): number | undefined {
  if (typeof value !== "string" || !RFC3339_RE.test(value) || Number.isNaN(Date.parse(value))) {
    errors.push(`${field}: must be an RFC 3339 timestamp, e.g. 2026-01-31T00:00:00Z`);
    return undefined;
  }
  return Date.parse(value);
}

/**
 * The window of a replay at `now`. `retentionDays` (retention.days; 0 keeps everything): events
 * older than that may already be purged, so a window reaching before it would replay a part of
 * its time and call itself done — refused rather than silently short. A window in the future has
 * nothing to replay yet, and until defaults to now.
 */
export function checkReplayWindow(
  input: { since?: unknown; until?: unknown; event_types?: unknown },
  now: number,
  retentionDays: number,
): WindowCheck {
  const errors: string[] = [];
  const since = time("since", input.since, errors);
  const until = input.until === undefined || input.until === null ? now : time("until", input.until, errors);
  if (since !== undefined) {
    if (since > now) errors.push("since: must not be in the future");
    else if (retentionDays > 0 && since < now - retentionDays * DAY_MS) {
      errors.push(`since: must be within retention.days (${retentionDays} days): older events may already be purged`);
    }
  }
  const untilGiven = input.until !== undefined && input.until !== null;
  // A since in the future is its own problem; the default until (now) is then not another one.
  if (untilGiven && since !== undefined && until !== undefined && until < since) errors.push("until: must not be before since");
  const eventTypes = checkEventTypes(input.event_types, errors);
  if (errors.length > 0 || since === undefined || until === undefined) return { ok: false, errors };
  return { ok: true, window: { since, until: Math.min(until, now), eventTypes } };
}

function checkEventTypes(value: unknown, errors: string[]): string[] | null {
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_EVENT_TYPES) {
    errors.push(`event_types: must be a non-empty array of at most ${MAX_EVENT_TYPES} event types or patterns`);
    return null;
  }
  const out: string[] = [];
  value.forEach((v, i) => {
    if (typeof v === "string" && (v === "*" || EVENT_TYPE_RE.test(v) || PREFIX_PATTERN_RE.test(v))) out.push(v);
    else errors.push(`event_types[${i}]: must be an event type, a prefix wildcard (member.*) or *`);
  });
  return [...new Set(out)];
}
