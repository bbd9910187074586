// Small pure formatters shared by the pages.

export function percent(rate: number | null): string {
  return rate === null ? "–" : `${(rate * 100).toFixed(rate === 1 ? 0 : 1)} %`;
}

export function millis(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "–";
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

export function prettyJson(value: unknown): string {
  return JSON.stringify(value, null, 2) ?? "null";
}

/** "a, b" → ["a", "b"]: the events field of the webhook forms. */
export function splitList(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

/** The console path with the tenant query a global admin picked, kept on every link. */
export function withTenant(path: string, tenant: string | null): string {
  if (!tenant) return path;
  const sep = path.includes("?") ? "&" : "?";
  return `${path}${sep}tenant=${encodeURIComponent(tenant)}`;
}

/** The headers a receiver gets besides the webhook's own (API.md §7), as the delivery page lists them. */
export function standardHeaders(eventId: string): [string, string][] {
  return [
    ["content-type", "application/json"],
    ["user-agent", "Hookline/<version>"],
    ["webhook-id", eventId],
    ["webhook-timestamp", "(unix seconds of each attempt)"],
    ["webhook-signature", "v1,… (HMAC-SHA256 with the webhook's secret, masked)"],
  ];
}
