// Free text a client stores and others later read (webhook and event type descriptions, key
// names) ends up in terminals, log lines, CSV exports and the console. Characters that move the
// cursor, end a line or reorder what is displayed let a stored value pretend to be something
// else there (a forged log line, a "Trojan Source" name), so such text must not contain them.
//
// Refused, with no exceptions (a description is one line, so tab and newline are refused too):
// - C0 controls U+0000–U+001F and DEL U+007F;
// - C1 controls U+0080–U+009F (some terminals act on them, e.g. U+009B is CSI);
// - the Unicode line and paragraph separators U+2028, U+2029 (JavaScript and many log viewers
//   break lines on them);
// - the bidirectional embeddings and overrides U+202A–U+202E and isolates U+2066–U+2069, which
//   reorder the text around them when displayed. The plain marks (U+200E, U+200F, U+061C) are
//   allowed: they cannot reorder other characters, and right-to-left text may need them.

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;

export function hasControlCharacters(s: string): boolean {
  return CONTROL.test(s);
}

/** The validation error for `field`, in the `field: problem` form of every 422 item. */
export function controlCharsError(field: string): string {
  return `${field}: must not contain control characters`;
}
