// Header names a webhook (or the signing.hex_header setting) may not take: hop-by-hop headers,
// headers the sender computes itself, and the signature headers. Overriding any of them would
// break what makes a delivery a valid, signed HTTP request. Every `content-*` header describes
// the body, which Hookline writes: a content-encoding or content-range it does not apply would
// make receivers misread it.

/** An RFC 9110 token of at most 100 characters. */
export const HEADER_NAME_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,100}$/;

const RESERVED = new Set([
  "host",
  "transfer-encoding",
  "connection",
  "keep-alive",
  "upgrade",
  "te",
  "trailer",
  "user-agent",
]);

export function isReservedHeaderName(name: string): boolean {
  const lower = name.toLowerCase();
  return (
    RESERVED.has(lower) || lower.startsWith("webhook-") || lower.startsWith("proxy-") || lower.startsWith("content-")
  );
}
