// Signatures and headers of one delivery attempt (API.md §7). Pure apart from node:crypto, so the
// dispatcher can build headers per attempt (webhook-timestamp changes on every retry while the
// body stays byte-identical).
import { createHmac } from "node:crypto";
import { SECRET_PREFIX } from "../domain/secrets.ts";

/**
 * Standard Webhooks `v1,<base64>` entry. The key is the decoded base64 after `whsec_`, not the
 * secret string: that is what every Standard Webhooks library (and Svix) verifies against.
 */
export function standardSignature(
  secret: string,
  msgId: string,
  timestampSec: number,
  body: string,
): string {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  const key = Buffer.from(encoded, "base64");
  const mac = createHmac("sha256", key).update(`${msgId}.${timestampSec}.${body}`, "utf8");
  return `v1,${mac.digest("base64")}`;
}

/**
 * Lowercase hex HMAC of the raw body keyed by the whole secret string, prefix included: simpler
 * receivers paste the secret as-is into `createHmac(...)`, so no decoding step may be required.
 */
export function hexSignature(secret: string, body: string): string {
  return createHmac("sha256", Buffer.from(secret, "utf8")).update(body, "utf8").digest("hex");
}

export interface DeliveryHeadersInput {
  customHeaders: Record<string, string>;
  eventId: string;
  timestampSec: number;
  body: string;
  /** Active secrets, newest first; each yields one `v1,` entry. */
  secrets: string[];
  /** `signing.hex_header`, e.g. "X-Signature"; absent → no hex header. */
  hexHeader?: string;
  version: string;
}

/**
 * The webhook's own headers come first so that ours are written after them: validation already
 * refuses reserved names, and this order means ours win even if a stored one slipped through.
 */
export function deliveryHeaders(input: DeliveryHeadersInput): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(input.customHeaders)) {
    headers[name.toLowerCase()] = value;
  }
  headers["content-type"] = "application/json";
  headers["user-agent"] = `Hookline/${input.version}`;
  headers["webhook-id"] = input.eventId;
  headers["webhook-timestamp"] = String(input.timestampSec);
  headers["webhook-signature"] = input.secrets
    .map((s) => standardSignature(s, input.eventId, input.timestampSec, input.body))
    .join(" ");
  const newest = input.secrets[0];
  // During a rotation the hex header carries the new secret only (API.md §10): the header has
  // room for one value, and a receiver that switched to the new secret must not see the old.
  if (input.hexHeader && newest !== undefined) {
    headers[input.hexHeader.toLowerCase()] = hexSignature(newest, input.body);
  }
  return headers;
}

/**
 * Secrets to sign with, newest first. The previous secret stays active until its expiry (the
 * rotation overlap); a previous secret without an expiry is treated as expired, so a half-written
 * rotation can never keep an old secret alive for ever.
 */
export function activeSecrets(
  current: string,
  previous: string | null,
  previousExpiresAt: number | null,
  now: number,
): string[] {
  if (previous !== null && previousExpiresAt !== null && now < previousExpiresAt) {
    return [current, previous];
  }
  return [current];
}
