// Values from clients (a request id, a receiver's error text, a key name) end up in text meant
// for a terminal or a line-oriented log. Written raw, a value holding a space, a quote, "=" or a
// newline could pose as another field or another line; here it is quoted instead, JSON-style,
// with every character text.ts calls a control character escaped.
import { hasControlCharacters } from "../lib/text.ts";

/**
 * Shown as is: ids, times, numbers, paths, tenants ("*" too). No space, "=", quote or bracket, so
 * a reader of `key=value` cannot take it for another field or a JSON value.
 */
const PLAIN_TOKEN = /^[A-Za-z0-9_.:/@+%,*-]+$/;

function hex4(ch: string): string {
  return `\\u${(ch.codePointAt(0) ?? 0).toString(16).padStart(4, "0")}`;
}

/**
 * JSON.stringify, plus \u escapes for what JSON leaves raw but terminals and log viewers act on
 * (DEL, C1 controls, U+2028/9, bidi overrides); the result is still valid JSON.
 */
export function safeJson(value: unknown): string {
  const json = JSON.stringify(value) ?? "null";
  // JSON.stringify has escaped C0 already; most lines have nothing else to look at.
  if (!hasControlCharacters(json)) return json;
  let out = "";
  for (const ch of json) out += hasControlCharacters(ch) ? hex4(ch) : ch;
  return out;
}

/** A string as is when it is a plain token, else JSON-quoted (so "" becomes `""`). */
export function quoteIfNeeded(s: string): string {
  return PLAIN_TOKEN.test(s) ? s : safeJson(s);
}

/** Free text (a log message, a name) as is when harmless; quoted when it holds "=", a quote or a control character. */
export function quoteText(s: string): string {
  return /[="\\]/.test(s) || hasControlCharacters(s) ? safeJson(s) : s;
}
