import { randomBytes } from "node:crypto";

export const SECRET_PREFIX = "whsec_";
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Standard Webhooks secret: `whsec_` + padded base64 of 32 random bytes. */
export function generateSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString("base64");
}

/** Returns an error message (without the field name), or undefined for a valid secret. */
export function checkSecret(secret: unknown): string | undefined {
  if (typeof secret !== "string") return "must be a string";
  const ok =
    secret.startsWith(SECRET_PREFIX) &&
    BASE64_RE.test(secret.slice(SECRET_PREFIX.length)) &&
    secret.length > SECRET_PREFIX.length;
  if (!ok) return "must be 'whsec_' followed by standard base64";
  const bytes = Buffer.from(secret.slice(SECRET_PREFIX.length), "base64").length;
  if (bytes < 24 || bytes > 64) return `must encode 24 to 64 bytes (this one has ${bytes})`;
  return undefined;
}
