/** Everything that depends on time takes a Clock, so tests can drive time instead of sleeping. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** RFC 3339 UTC with milliseconds, the only timestamp format of the API. */
export function toIso(ms: number): string {
  return new Date(ms).toISOString();
}
