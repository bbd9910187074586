// Times as the viewer reads them (their zone) with the exact UTC instant kept for a title.
// Pure functions, so the tests can pin a zone and a locale.

export interface TimeText {
  /** In the viewer's zone, e.g. "2 Dec 2026, 15:04:05". */
  local: string;
  /** The instant in UTC, e.g. "2026-12-02 14:04:05 UTC". */
  utc: string;
}

export function timeText(iso: string, timeZone?: string, locale?: string): TimeText | null {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return null;
  const d = new Date(ms);
  const local = new Intl.DateTimeFormat(locale, {
    dateStyle: "medium",
    timeStyle: "medium",
    ...(timeZone ? { timeZone } : {}),
  }).format(d);
  const utc = `${d.toISOString().slice(0, 19).replace("T", " ")} UTC`;
  return { local, utc };
}

/** "3 min ago", "in 2 h": for next attempts and failing-since. */
export function relative(iso: string, now: number): string {
  const ms = Date.parse(iso) - now;
  const abs = Math.abs(ms);
  const [n, unit] =
    abs < 60_000 ? [Math.round(abs / 1000), "s"] : abs < 3_600_000 ? [Math.round(abs / 60_000), "min"] : abs < 86_400_000 ? [Math.round(abs / 3_600_000), "h"] : [Math.round(abs / 86_400_000), "d"];
  return ms < 0 ? `${n} ${unit} ago` : `in ${n} ${unit}`;
}

/**
 * A datetime-local input's value ("2026-12-02T15:04", the viewer's zone) as RFC 3339 UTC, or
 * null when empty or malformed.
 */
export function localInputToIso(value: string): string | null {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(value)) return null;
  const ms = new Date(value).getTime();
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
}

/** The value a datetime-local input shows for `ms` in the viewer's zone. */
export function isoToLocalInput(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** Whether `iso` lies in [from, to] (either bound may be missing). */
export function inRange(iso: string, from: string | null, to: string | null): boolean {
  const ms = Date.parse(iso);
  if (from !== null && ms < Date.parse(from)) return false;
  if (to !== null && ms > Date.parse(to)) return false;
  return true;
}
