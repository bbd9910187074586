// Custom header values that are credentials (`authorization: Bearer …`, `x-api-key: …`) get the
// treatment of signing secrets: encrypted at rest when security.encryption_key is set, shown in
// full only by the create answer, masked everywhere else.
import { isEncrypted, type SecretBox } from "../secret-box.ts";

/**
 * A header is secret when its lower-case name CONTAINS one of these words. A substring rule,
 * not a list of names, because credentials hide under endless spellings (`x-authtoken`,
 * `apikey`, `x-amz-security-token`, `ocp-apim-subscription-key`, `private-token`,
 * `x-hub-signature`); a false positive only masks a harmless value (`x-author`), a false
 * negative would show a credential to every reader. Plain lower-case ASCII on purpose: the SQL
 * twin in db/secrets-migration.ts matches the same words with instr().
 */
export const SECRET_HEADER_WORDS = [
  "auth", // authorization, x-auth-token, x-authtoken
  "cookie",
  "token",
  "key", // x-api-key, apikey, x-functions-key
  "secret",
  "passw", // password, passwd
  "pwd",
  "signature",
  "credential",
  "session",
  "jwt",
] as const;

export function isSecretHeaderName(name: string): boolean {
  const lower = name.toLowerCase();
  return SECRET_HEADER_WORDS.some((w) => lower.includes(w));
}

/** What replaces a secret value in answers. Not Latin-1 (U+2026), so it can never be sent as a value. */
export const MASK = "…(masked)";
/** Characters shown before the mask: enough to tell `Bearer` from `Basic`, not to guess a token. */
const SHOWN = 3;
/** Shorter values are masked whole, so no more than a quarter of a value is ever shown. */
const SHOWN_FROM_LENGTH = 12;

export function maskValue(value: string): string {
  return value.length >= SHOWN_FROM_LENGTH ? value.slice(0, SHOWN) + MASK : MASK;
}

/** The headers as answers show them: secret values masked, the others as they are. */
export function maskHeaders(headers: Record<string, string>): Record<string, string> {
  return mapSecretValues(headers, maskValue);
}

/** A value a client copied from a masked answer (it cannot be a real value: see MASK). */
export function isMaskedValue(value: string): boolean {
  return value.endsWith(MASK);
}

/** The stored form: secret values encrypted (unchanged when no key is configured). */
export function sealHeaders(headers: Record<string, string>, box: SecretBox): Record<string, string> {
  if (!box.enabled) return headers;
  return mapSecretValues(headers, (v) => box.encrypt(v));
}

/** Encrypts only what is still plaintext: `hookline secrets encrypt` on a partly migrated row. */
export function sealPlaintextHeaders(headers: Record<string, string>, box: SecretBox): Record<string, string> {
  return mapSecretValues(headers, (v) => (isEncrypted(v) ? v : box.encrypt(v)));
}

/** The plaintext headers of a stored row. Throws a SecretKeyError for a value the key cannot read. */
export function openHeaders(headers: Record<string, string>, box: SecretBox): Record<string, string> {
  return mapSecretValues(headers, (v) => box.decrypt(v));
}

function mapSecretValues(headers: Record<string, string>, fn: (value: string) => string): Record<string, string> {
  // A Map, not an object: a header named "__proto__" must stay a plain entry.
  const out = new Map<string, string>();
  for (const [name, value] of Object.entries(headers)) out.set(name, isSecretHeaderName(name) ? fn(value) : value);
  return Object.fromEntries(out);
}
