// payload_format (API.md §14): what body a receiver gets for an event. Decided once, at publish,
// from the type's format at that moment, and stored with the body: a type changed later changes
// no stored event, and every retry, manual retry or recover sends the bytes stored.
import type { PayloadFormat } from "../config/types.ts";

export type { PayloadFormat } from "../config/types.ts";

export const PAYLOAD_FORMATS: readonly PayloadFormat[] = ["envelope", "data"];

export function isPayloadFormat(value: unknown): value is PayloadFormat {
  return PAYLOAD_FORMATS.includes(value as PayloadFormat);
}

/** The type's own format, else delivery.payload_format. */
export function formatOf(type: { payloadFormat: PayloadFormat | null }, fallback: PayloadFormat): PayloadFormat {
  return type.payloadFormat ?? fallback;
}

/**
 * The body of a "data" event: the text of `data` as the client wrote it, when the request's raw
 * text is known (every publish over HTTP), so spacing, key order, escapes such as `\u00e9` and
 * numbers beyond a double's precision reach the receiver unchanged. A caller that holds only the
 * parsed value gets it serialised, the closest the value itself allows.
 */
export function dataBody(data: unknown, rawData: string | undefined): string {
  return rawData ?? JSON.stringify(data);
}

/** The published `data` of a stored body of that format (not a pruned one). */
export function dataOfBody(format: PayloadFormat, body: string): unknown {
  const parsed = JSON.parse(body) as unknown;
  return format === "data" ? parsed : (parsed as { data: unknown }).data;
}
