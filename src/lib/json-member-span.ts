// Where a top-level member's value sits in a JSON text, as character offsets, so that the value
// can be kept exactly as the client wrote it (payload_format "data", API.md §14): re-serialising
// the parsed value would reorder nothing but would rewrite `\u00e9` as `é`, `1.0` as `1` and
// 12345678901234567890 as 12345678901234567000 — not the bytes the receiver's signature check
// and parser were written for.

export interface Span {
  /** Offset of the value's first character. */
  start: number;
  /** Offset just past the value's last character. */
  end: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

function isSpace(c: number): boolean {
  // JSON's four whitespace characters only (RFC 8259 §2), unlike String.prototype.trim.
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

function skipSpace(text: string, at: number): number {
  let i = at;
  while (i < text.length && isSpace(text.charCodeAt(i))) i++;
  return i;
}

/** Offset just past the string that opens at `at` (a quote), or -1 if it never closes. */
function stringEnd(text: string, at: number): number {
  let i = at + 1;
  for (;;) {
    const q = text.indexOf('"', i);
    if (q < 0) return -1;
    // The quote is escaped when an odd number of backslashes stands right before it.
    let slashes = 0;
    for (let j = q - 1; j > at && text.charCodeAt(j) === BACKSLASH; j--) slashes++;
    if (slashes % 2 === 0) return q + 1;
    i = q + 1;
  }
}

/**
 * Offset just past the value that starts at `at`, or -1 when the text ends first. Nesting is
 * counted, not recursed into, so a deep value cannot exhaust the stack; brackets inside strings
 * are skipped with the strings.
 */
function valueEnd(text: string, at: number): number {
  const first = text.charCodeAt(at);
  if (first === QUOTE) return stringEnd(text, at);
  if (first !== OPEN_BRACE && first !== OPEN_BRACKET) {
    // A number, true, false or null: it runs until a delimiter or whitespace.
    let i = at;
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === COMMA || c === CLOSE_BRACE || c === CLOSE_BRACKET || isSpace(c)) break;
      i++;
    }
    return i === at ? -1 : i;
  }
  let depth = 0;
  let i = at;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      i = stringEnd(text, i);
      if (i < 0) return -1;
      continue;
    }
    if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
    else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
      if (depth === 0) return i + 1;
    }
    i++;
  }
  return -1;
}

/** A key's name as JSON.parse reads it: `"d\u0061ta"` is "data". */
function keyName(raw: string): string | undefined {
  if (!raw.includes("\\")) return raw.slice(1, -1);
  try {
    return JSON.parse(raw) as string;
  } catch {
    return undefined;
  }
}

/**
 * The span of the value of the top-level member `name` of the JSON object `text`, or undefined
 * when the text is not an object or has no such member. `text` is expected to be valid JSON
 * (the caller parsed it already); anything malformed gives undefined, never a wrong span. When
 * the key appears twice the last one wins, as JSON.parse decides.
 */
export function topLevelMemberSpan(text: string, name: string): Span | undefined {
  let i = skipSpace(text, 0);
  if (text.charCodeAt(i) !== OPEN_BRACE) return undefined;
  i = skipSpace(text, i + 1);
  if (text.charCodeAt(i) === CLOSE_BRACE) return undefined;
  let found: Span | undefined;
  for (;;) {
    if (text.charCodeAt(i) !== QUOTE) return undefined;
    const keyEnd = stringEnd(text, i);
    if (keyEnd < 0) return undefined;
    const key = keyName(text.slice(i, keyEnd));
    if (key === undefined) return undefined;
    i = skipSpace(text, keyEnd);
    if (text.charCodeAt(i) !== COLON) return undefined;
    const start = skipSpace(text, i + 1);
    const end = start < text.length ? valueEnd(text, start) : -1;
    if (end < 0) return undefined;
    if (key === name) found = { start, end };
    i = skipSpace(text, end);
    const c = text.charCodeAt(i);
    if (c === CLOSE_BRACE) return found;
    if (c !== COMMA) return undefined;
    i = skipSpace(text, i + 1);
  }
}

/** The text of that member's value, exactly as written, or undefined (see topLevelMemberSpan). */
export function topLevelMemberText(text: string, name: string): string | undefined {
  const span = topLevelMemberSpan(text, name);
  return span === undefined ? undefined : text.slice(span.start, span.end);
}
