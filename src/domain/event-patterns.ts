// How a webhook's `events` patterns match an event type (API.md §10 "Patterns").

export const TEST_EVENT_TYPE = "webhook.test";

/** Hookline's operational events, published into the tenant whose webhook they concern. */
export const OPERATIONAL_TYPES = {
  webhookDisabled: "hookline.webhook.disabled",
  deliveryExhausted: "hookline.delivery.exhausted",
  webhookRecovered: "hookline.webhook.recovered",
} as const;
export const EVENT_TYPE_RE = /^[a-z0-9_]+(\.[a-z0-9_]+)+$/;
/** `member.*` or `member.team.*`: every type below that prefix, at any depth. */
export const PREFIX_PATTERN_RE = /^[a-z0-9_]+(\.[a-z0-9_]+)*\.\*$/;

/** Hookline's own types: `*` does not match them, a subscription must name them. */
export function isOperationalType(type: string): boolean {
  return type === TEST_EVENT_TYPE || type.startsWith("hookline.");
}

/** Names users may not create: they belong to Hookline. */
export function isReservedTypeName(name: string): boolean {
  return name.startsWith("webhook.") || name.startsWith("hookline.");
}

export function patternMatches(pattern: string, type: string): boolean {
  if (pattern === type) return true;
  if (pattern === "*") return !isOperationalType(type);
  if (pattern.endsWith(".*")) return type.startsWith(pattern.slice(0, -1));
  return false;
}

export function matchesAny(patterns: readonly string[], type: string): boolean {
  return patterns.some((p) => patternMatches(p, type));
}
