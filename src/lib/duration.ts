/** A duration in milliseconds, as parsed from "15s", "5m"… */
export type DurationMs = number;

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
type Unit = keyof typeof UNIT_MS;

// Strict on purpose: "1.5h", "15 s" or a bare number are refused rather than guessed, so a
// config file means the same thing to every reader.
const DURATION = /^(\d+)(ms|s|m|h|d)$/;

export function parseDuration(input: string): DurationMs | undefined {
  const match = DURATION.exec(input);
  if (!match) return undefined;
  const [, digits, unit] = match;
  if (digits === undefined || unit === undefined) return undefined;
  const ms = Number(digits) * UNIT_MS[unit as Unit];
  // Past 2^53 the value would no longer be the integer the user wrote.
  return Number.isSafeInteger(ms) ? ms : undefined;
}

// Largest unit first, so messages read "5m" rather than "300000ms".
const UNITS_DESC: readonly Unit[] = ["d", "h", "m", "s", "ms"];

/** The shortest exact spelling that parseDuration reads back to `ms`, e.g. 300000 → "5m". */
export function formatDuration(ms: DurationMs): string {
  if (!Number.isSafeInteger(ms) || ms < 0) return `${ms}ms`;
  if (ms === 0) return "0s";
  for (const unit of UNITS_DESC) {
    if (ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  }
  return `${ms}ms`;
}
