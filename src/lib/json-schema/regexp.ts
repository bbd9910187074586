// JSON Schema patterns (`pattern`, `patternProperties`) run on RE2 (the re2js port), whose
// matching time grows linearly with the input (issue 15, item 5). Bun's own engine backtracks:
// on `^(a+)+$` and a string of "a"s ending in "!" it spends ~0.4 s per string, blocking the event
// loop, then gives up and answers "no match" — wrong when a later alternative would have
// matched (`^(?:(a+)+b|a+!)$`). ajv takes the engine as
// `code.regExp`; the patterns of a schema are also checked one by one when it is declared, so a
// pattern RE2 cannot run is refused there, naming where it is.
//
// Patterns are written in ECMAScript's syntax (JSON Schema's dialect), read in Unicode mode as
// ajv does. What RE2 lacks is refused, never approximated: lookahead, lookbehind and
// backreferences. Where the two dialects read the same text differently, the text is rewritten
// to mean what ECMAScript means (`.`, `\s`, `\S`, `[]`, `[^]`, `[\b]`, `\uD83D\uDE00`), then
// re2js translates the remaining ECMAScript escapes.
import type { CodeOptions } from "ajv/dist/2019";
import { RE2JS, RE2JSException } from "re2js";
import { member } from "./messages.ts";
import { forEachSubschema } from "./walk.ts";

/**
 * RE2 matches in time proportional to the input times the compiled program, so the program is
 * bounded too: 3,000 instructions admit `^.{1,1000}$` (~2,000) and any realistic format, while a
 * deliberately hostile pattern at the bound still costs seconds, not minutes, on the largest body.
 */
export const MAX_PATTERN_PROGRAM = 3_000;

const RE2_NOTE = "patterns run on RE2, in linear time, which has no lookahead, lookbehind or backreferences";

/** A pattern that cannot be used; the message has no path (the caller knows where it is). */
export class PatternError extends Error {}

const unicodeEscape = (c: string): string => `\\u{${(c.codePointAt(0) ?? 0).toString(16)}}`;
// ECMAScript's WhiteSpace and LineTerminator (RE2's \s is ASCII only), and what `.` excludes.
const SPACES = [..."\t\n\v\f\r \u00a0\u1680\u2028\u2029\u202f\u205f\u3000\ufeff"].concat(
  Array.from({ length: 11 }, (_, k) => String.fromCharCode(0x2000 + k)),
);
const JS_SPACE = SPACES.map(unicodeEscape).join("");
const JS_DOT = "[^\\n\\r\\u2028\\u2029]";
const ANY = "\\x00-\\x{10FFFF}";
const SURROGATE_PAIR = /^\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})/i;
const MODIFIERS = /^\(\?([ims]*)(?:-([ims]*))?:/;

type RegExpEngine = NonNullable<CodeOptions["regExp"]>;
type RegExpLike = ReturnType<RegExpEngine>;

function unsupported(what: string): PatternError {
  return new PatternError(`${what} is not supported (${RE2_NOTE})`);
}

interface Scan {
  out: string;
  /** The open bracket class: where it starts in `out` and in the pattern, whether it holds a \S. */
  cls?: { start: number; source: number; negated: boolean; nonSpace: boolean };
  /** One entry per open group: whether `.` matches line terminators there ((?s:…) modifiers). */
  dotAll: boolean[];
}

function escapeFor(scan: Scan, next: string): string {
  if (scan.cls !== undefined) {
    if (next === "s") return JS_SPACE;
    if (next === "S") {
      scan.cls.nonSpace = true; // spelt out when the class closes
      return "";
    }
    return next === "b" ? "\\x08" : `\\${next}`; // [\b] is a backspace in ECMAScript
  }
  if (/[1-9]/.test(next)) throw unsupported(`the backreference \\${next}`);
  if (next === "k") throw unsupported("a named backreference (\\k<…>)");
  if (next === "s") return `[${JS_SPACE}]`;
  if (next === "S") return `[^${JS_SPACE}]`;
  return `\\${next}`;
}

function classChar(scan: Scan, pattern: string, i: number): void {
  const ch = pattern[i] ?? "";
  const cls = scan.cls;
  if (cls === undefined) return;
  // A "[" inside a class is a plain character in ECMAScript; RE2 might start [:alpha:].
  if (ch !== "]") {
    scan.out += ch === "[" ? "\\[" : ch;
    return;
  }
  scan.cls = undefined;
  if (!cls.nonSpace) {
    scan.out += "]";
    return;
  }
  // RE2's \S knows only ASCII spaces, so a class holding one is spelt out. [X\S] is X or any
  // non-space; [^X\S] can only match spaces, so it is the spaces ECMAScript's class matches.
  const members = scan.out.slice(cls.start + 1);
  if (cls.negated) {
    const js = new RegExp(`^${pattern.slice(cls.source, i + 1)}$`, "u");
    const spaces = SPACES.filter((c) => js.test(c)).map(unicodeEscape);
    scan.out = scan.out.slice(0, cls.start) + (spaces.length === 0 ? `[^${ANY}]` : `[${spaces.join("")}]`);
  } else {
    scan.out = scan.out.slice(0, cls.start) + (members === "" ? `[^${JS_SPACE}]` : `(?:[${members}]|[^${JS_SPACE}])`);
  }
}

function openGroup(scan: Scan, rest: string): void {
  if (rest.startsWith("(?=") || rest.startsWith("(?!")) throw unsupported(`the lookahead ${rest.slice(0, 3)}…)`);
  if (rest.startsWith("(?<=") || rest.startsWith("(?<!")) throw unsupported(`the lookbehind ${rest.slice(0, 4)}…)`);
  const mods = MODIFIERS.exec(rest);
  const inherited = scan.dotAll.at(-1) ?? false;
  scan.dotAll.push(mods?.[2]?.includes("s") ? false : mods?.[1]?.includes("s") ? true : inherited);
}

/** Consumes one token of `pattern` at `i` into scan.out; returns how many characters it took. */
function step(scan: Scan, pattern: string, i: number): number {
  const rest = pattern.slice(i, i + 12);
  const pair = SURROGATE_PAIR.exec(rest);
  if (pair) {
    // ECMAScript reads an escaped surrogate pair as one code point; RE2 would see two.
    const cp = ((Number.parseInt(pair[1] ?? "", 16) - 0xd800) << 10) + Number.parseInt(pair[2] ?? "", 16) - 0xdc00 + 0x10000;
    scan.out += `\\u{${cp.toString(16)}}`;
    return 12;
  }
  const ch = rest[0] ?? "";
  if (ch === "\\") {
    scan.out += escapeFor(scan, rest[1] ?? "");
    return 2;
  }
  if (scan.cls !== undefined) {
    classChar(scan, pattern, i);
    return 1;
  }
  // Nothing, or anything: RE2 would read the "]" right after "[" or "[^" as a member.
  if (rest.startsWith("[]")) {
    scan.out += `[^${ANY}]`;
    return 2;
  }
  if (rest.startsWith("[^]")) {
    scan.out += `[${ANY}]`;
    return 3;
  }
  if (ch === "[") scan.cls = { start: scan.out.length, source: i, negated: rest[1] === "^", nonSpace: false };
  else if (ch === "(") openGroup(scan, rest);
  else if (ch === ")" && scan.dotAll.length > 1) scan.dotAll.pop();
  scan.out += ch === "." && !scan.dotAll.at(-1) ? JS_DOT : ch;
  return 1;
}

/**
 * The ECMAScript pattern (already known to be valid in Unicode mode) rewritten for RE2, or a
 * PatternError naming the first feature RE2 lacks.
 */
export function toRe2Syntax(pattern: string): string {
  const scan: Scan = { out: "", dotAll: [false] };
  for (let i = 0; i < pattern.length; ) i += step(scan, pattern, i);
  return RE2JS.translateRegExp(scan.out);
}

function re2Message(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/^error parsing regexp: /, "");
}

/** Compiles an ECMAScript pattern for RE2, or throws a PatternError saying why it cannot be. */
export function compilePattern(pattern: string): RE2JS {
  try {
    // ECMAScript's own parser first: a pattern ajv would refuse stays refused, with its message.
    new RegExp(pattern, "u");
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new PatternError(message.replace(/^Invalid regular expression: /, "invalid regular expression: "));
  }
  let compiled: RE2JS;
  try {
    compiled = RE2JS.compile(toRe2Syntax(pattern));
  } catch (error) {
    if (error instanceof PatternError) throw error;
    if (!(error instanceof RE2JSException)) throw error;
    const reason = re2Message(error);
    const hint = reason.startsWith("invalid repeat count") ? "; a counted repeat goes up to {1000}" : "";
    throw new PatternError(`not supported by RE2, the linear-time engine patterns run on: ${reason}${hint}`);
  }
  const size = compiled.programSize();
  if (size > MAX_PATTERN_PROGRAM) {
    throw new PatternError(
      `too large for RE2 (${size} instructions, at most ${MAX_PATTERN_PROGRAM}); for a length limit use maxLength`,
    );
  }
  return compiled;
}

// Compiling is the costly part and the same patterns come back with every schema compile.
const compiledCache = new Map<string, RE2JS>();
const CACHE_LIMIT = 1_000;

function cachedPattern(pattern: string): RE2JS {
  let compiled = compiledCache.get(pattern);
  if (compiled === undefined) {
    compiled = compilePattern(pattern);
    if (compiledCache.size >= CACHE_LIMIT) compiledCache.clear();
    compiledCache.set(pattern, compiled);
  }
  return compiled;
}

/**
 * ajv's `code.regExp`. ajv asks only for `test` and keys its per-instance cache by `toString()`,
 * which must therefore name the pattern exactly, as RegExp's does. Flags: ajv passes "u" (its
 * unicodeRegExp default) or ""; RE2 always matches code points, so both mean the same here.
 */
export const re2RegExp: RegExpEngine = Object.assign(
  (pattern: string, flags: string): RegExpLike => {
    if (!/^u?$/.test(flags)) throw new PatternError(`the regular expression flags "${flags}" are not supported`);
    const compiled = cachedPattern(pattern);
    const rx: RegExpLike & { toString(): string } = {
      test: (s: string) => compiled.test(s),
      toString: () => `/${pattern}/${flags}`,
    };
    return rx;
  },
  // Only read when ajv generates standalone code, which Hookline never does.
  { code: "re2RegExp" },
);

/**
 * Every pattern of `schema` RE2 cannot run, one line each starting with where it is
 * ("properties.code.pattern: …", "patternProperties[\"^(?=x)\"]: …"), without a field prefix.
 */
export function patternProblems(schema: unknown): string[] {
  const problems: string[] = [];
  const check = (pattern: string, at: string): void => {
    try {
      cachedPattern(pattern);
    } catch (error) {
      if (!(error instanceof PatternError)) throw error;
      problems.push(`${at}: ${error.message}`);
    }
  };
  forEachSubschema(schema, (node, path) => {
    if (typeof node.pattern === "string") check(node.pattern, member(path, "pattern", false));
    const props = node.patternProperties;
    if (typeof props === "object" && props !== null && !Array.isArray(props)) {
      for (const key of Object.keys(props)) check(key, member(member(path, "patternProperties", false), key, false));
    }
  });
  return problems;
}
