import type { DomainDeps } from "../deps.ts";
import { checkDestination, destinationPolicy } from "../destination.ts";
import { EVENT_TYPE_RE, PREFIX_PATTERN_RE } from "../event-patterns.ts";
import { isBuiltinType } from "../event-types.ts";
import { HEADER_NAME_RE, isReservedHeaderName } from "../../lib/header-names.ts";
import { ENCRYPTED_PREFIX } from "../secret-box.ts";
import { checkSecret } from "../secrets.ts";
import { controlCharsError, hasControlCharacters } from "../../lib/text.ts";
import { isMaskedValue, isSecretHeaderName } from "./secret-headers.ts";

export const MAX_DESCRIPTION = 1000;
const MAX_HEADER_VALUE = 4096;
export interface WebhookInput {
  url?: unknown;
  events?: unknown;
  description?: unknown;
  headers?: unknown;
  enabled?: unknown;
  secret?: unknown;
}

export interface ValidWebhookFields {
  url?: string;
  events?: string[];
  description?: string;
  headers?: Record<string, string>;
  /**
   * Secret headers sent back in their masked form (PATCH only): `headers` holds the masked
   * value until update.ts replaces it with the stored one, if it is the mask of that value.
   */
  maskedHeaders?: MaskedHeader[];
  enabled?: boolean;
  secret?: string;
}

export interface MaskedHeader {
  name: string;
  /** The field path as the client spelled it, for errors. */
  at: string;
  sent: string;
}

function checkEvents(
  value: unknown,
  known: Map<string, boolean>,
  maxEvents: number,
  errors: string[],
): string[] | undefined {
  if (!Array.isArray(value) || value.length === 0) {
    errors.push("events: must be a non-empty list of event types or patterns");
    return undefined;
  }
  // Counted before anything else is looked at, so an oversized list costs nothing more.
  if (value.length > maxEvents) {
    errors.push(`events: must have at most ${maxEvents} entries (security.max_events_per_webhook)`);
    return undefined;
  }
  const seen = new Set<string>();
  const before = errors.length;
  value.forEach((e: unknown, i) => {
    const at = `events[${i}]`;
    if (typeof e !== "string") errors.push(`${at}: must be a string`);
    else if (seen.has(e)) errors.push(`${at}: '${e}' is listed twice`);
    else if (e === "*" || PREFIX_PATTERN_RE.test(e)) seen.add(e);
    else if (!EVENT_TYPE_RE.test(e)) {
      errors.push(`${at}: '${e}' is neither an event type, a prefix pattern like 'member.*', nor '*'`);
    } else if (isBuiltinType(e)) seen.add(e);
    else if (!known.has(e)) errors.push(`${at}: unknown event type '${e}'`);
    else if (known.get(e) === true) errors.push(`${at}: event type '${e}' is archived`);
    else seen.add(e);
  });
  return errors.length === before ? [...seen] : undefined;
}

function checkHeaders(
  value: unknown,
  opts: { hexHeader: string | undefined; maxHeaders: number; mode: "create" | "update"; masked: MaskedHeader[] },
  errors: string[],
) {
  const { hexHeader, maxHeaders } = opts;
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    errors.push("headers: must be an object of header names to string values");
    return undefined;
  }
  const entries = Object.entries(value);
  if (entries.length > maxHeaders) {
    errors.push(`headers: must have at most ${maxHeaders} entries (security.max_headers_per_webhook)`);
    return undefined;
  }
  // A Map, not an object: "constructor" or "__proto__" must not look like names already seen.
  const out = new Map<string, string>();
  const before = errors.length;
  for (const [rawName, v] of entries) {
    const name = rawName.toLowerCase();
    const at = `headers.${rawName}`;
    if (!HEADER_NAME_RE.test(rawName)) errors.push(`${at}: is not a valid header name`);
    else if (name.startsWith("content-")) {
      // Reserved too (header-names.ts), with its own reason: Hookline does not set all of them.
      errors.push(`${at}: describes the body, which Hookline writes; content-* headers cannot be set`);
    } else if (isReservedHeaderName(name) || name === hexHeader?.toLowerCase()) {
      errors.push(`${at}: is set by Hookline and cannot be overridden`);
    } else if (out.has(name)) errors.push(`${at}: is listed twice (names are case-insensitive)`);
    else if (typeof v !== "string") errors.push(`${at}: must be a string`);
    else if (v.length > MAX_HEADER_VALUE) errors.push(`${at}: must be at most ${MAX_HEADER_VALUE} characters`);
    else if (isMaskedValue(v) && isSecretHeaderName(name)) {
      // What GET showed, sent back by a client that read, changed and PATCHed the object: it
      // means "keep the stored value" (update.ts checks it is that value's mask). Never stored.
      if (opts.mode === "create") errors.push(`${at}: is a masked value; send the real value`);
      else {
        opts.masked.push({ name, at, sent: v });
        out.set(name, v);
      }
    } else if (isSecretHeaderName(name) && v.startsWith(ENCRYPTED_PREFIX)) {
      // Stored values with this prefix are read as ciphertext (secret-box.ts).
      errors.push(`${at}: must not start with '${ENCRYPTED_PREFIX}' (the prefix of encrypted values)`);
    }
    // CR/LF would let a value smuggle extra headers; other control bytes are refused by fetch.
    // biome-ignore lint/suspicious/noControlCharactersInRegex: that is the point of the check
    else if (/[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/.test(v)) {
      errors.push(`${at}: must not contain control characters (CR, LF, NUL, ...)`);
    } else if (/[\u0100-\uffff]/.test(v)) {
      // An HTTP field value is bytes; fetch refuses anything past Latin-1, so every delivery
      // would fail. Refused here, where the caller can still fix it.
      errors.push(`${at}: must contain only ASCII or Latin-1 characters`);
    } else out.set(name, v);
  }
  return errors.length === before ? Object.fromEntries(out) : undefined;
}

/**
 * Checks every given field and reports all problems at once. Fields left undefined are not
 * checked (PATCH); `create` demands url and events.
 */
export async function validateWebhookInput(
  deps: Pick<DomainDeps, "store" | "config" | "resolver">,
  input: WebhookInput,
  mode: "create" | "update",
): Promise<{ errors: string[]; fields: ValidWebhookFields }> {
  const errors: string[] = [];
  const fields: ValidWebhookFields = {};
  if (mode === "update" && input.secret !== undefined) {
    errors.push("secret: cannot be changed with PATCH; use POST /v1/webhooks/{id}/rotate-secret");
  }
  if (input.url === undefined) {
    if (mode === "create") errors.push("url: is required");
  } else if (typeof input.url !== "string") errors.push("url: must be a string");
  if (input.events === undefined) {
    if (mode === "create") errors.push("events: is required");
  } else {
    const types = await deps.store.listEventTypes();
    const known = new Map(types.map((t) => [t.name, t.archived]));
    const events = checkEvents(input.events, known, deps.config.security.max_events_per_webhook, errors);
    if (events) fields.events = events;
  }
  if (input.description !== undefined) {
    if (typeof input.description !== "string") errors.push("description: must be a string");
    else if (input.description.length > MAX_DESCRIPTION) {
      errors.push(`description: must be at most ${MAX_DESCRIPTION} characters`);
    } else if (hasControlCharacters(input.description)) errors.push(controlCharsError("description"));
    else fields.description = input.description;
  }
  if (input.headers !== undefined) {
    const masked: MaskedHeader[] = [];
    const headers = checkHeaders(
      input.headers,
      {
        hexHeader: deps.config.signing.hex_header,
        maxHeaders: deps.config.security.max_headers_per_webhook,
        mode,
        masked,
      },
      errors,
    );
    if (headers) fields.headers = headers;
    if (headers && masked.length > 0) fields.maskedHeaders = masked;
  }
  if (input.enabled !== undefined) {
    if (typeof input.enabled !== "boolean") errors.push("enabled: must be a boolean");
    else fields.enabled = input.enabled;
  }
  if (mode === "create" && input.secret !== undefined) {
    const problem = checkSecret(input.secret);
    if (problem) errors.push(`secret: ${problem}`);
    else fields.secret = input.secret as string;
  }
  // DNS last, and only when it can change the answer: a request already refused for other
  // reasons should not wait for a resolver (but still hears about everything else in its URL).
  if (typeof input.url === "string") {
    const policy = destinationPolicy(deps.config.security);
    const res = await checkDestination(input.url, policy, deps.resolver, { lookup: errors.length === 0 });
    if ("errors" in res) errors.push(...res.errors);
    else fields.url = res.url;
  }
  return { errors, fields };
}
