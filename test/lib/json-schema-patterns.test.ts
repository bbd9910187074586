// JSON Schema patterns run on RE2 (issue 15, item 5): they mean what ECMAScript means, what RE2
// cannot run is refused where the schema is declared (naming the place), and a hostile string
// costs linear time.
import { describe, expect, test } from "bun:test";
import { compilePattern, MAX_PATTERN_PROGRAM, PatternError, patternProblems } from "../../src/lib/json-schema/regexp.ts";
import { schemaProblems, validateData } from "../../src/lib/json-schema/validate.ts";
import { configProblems } from "../support/config-problems.ts";

// [pattern, input]: RE2 must answer as ECMAScript's Unicode mode does. The pattern column covers
// every rewrite (., \s, \S inside and outside classes, [], [^], [\b], modifiers, surrogate pairs).
const SAME: [string, string][] = [
  ["^.$", "a"], ["^.$", "\n"], ["^.$", "\r"], ["^.$", "\u2028"], ["^.$", "😀"], ["a.c", "a\rc"],
  ["(?s:a.c)", "a\nc"], ["(?s:a(?-s:.)c)", "a\nc"], ["(?i:abc)", "ABC"],
  ["^\\s+$", "\u00a0\u3000\ufeff"], ["^\\s$", "\v"], ["^\\S+$", "a\u00a0"], ["^[a\\s]+$", "a\u2028"],
  ["^[^\\s]+$", "ab\u1680"], ["^[\\S]+$", "a\u00a0"], ["^[a\\S]+$", "\u00a0"], ["^[a\\S]+$", "xy"],
  ["^[^\\S]+$", "\u3000 "], ["^[^a\\S]+$", "\u00a0"], ["^[^\\u00a0\\S]$", "\u00a0"], ["^[\\s\\S]+$", "any\nthing"],
  ["^[]$", ""], ["^[^]$", "\n"], ["a[^]*c", "a\n\rc"], ["^[\\b]$", "\b"], ["\\bword\\b", "a word!"],
  ["^\\uD83D\\uDE00$", "😀"], ["^\\u{1F600}$", "😀"], ["^[\\uD83D\\uDE00]$", "😀"], ["^\\p{L}+$", "héllo"],
  ["^\\P{L}+$", "12"], ["^[[:a]+$", "[:a"], ["^(?<y>\\d{4})-(?<m>\\d{2})$", "2024-05"], ["a/b", "a/b"],
  ["^\\cJ$", "\n"], ["^\\x41\\u0042$", "AB"], ["^\\0$", "\0"], ["^\\\\s$", "\\s"], ["^[\\]\\-]+$", "]-"],
  ["^$", ""], ["^a$", "a\n"], ["^[A-Z]{3}$", "ABC"], ["^[A-Z]{3}$", "ABCD"], ["^(a+)+$", "aaaa"],
];

describe("compilePattern matches as ECMAScript does", () => {
  test.each(SAME)("%p on %p", (pattern, input) => {
    expect(compilePattern(pattern).test(input)).toBe(new RegExp(pattern, "u").test(input));
  });
});

const REFUSED: [string, string][] = [
  ["^(?=a)", "the lookahead (?=…) is not supported (patterns run on RE2, in linear time, which has no lookahead, lookbehind or backreferences)"],
  ["a(?!b)", "the lookahead (?!…) is not supported"],
  ["(?<=a)b", "the lookbehind (?<=…) is not supported"],
  ["(?<!a)b", "the lookbehind (?<!…) is not supported"],
  ["(a)\\1", "the backreference \\1 is not supported"],
  ["(?<y>a)\\k<y>", "a named backreference (\\k<…>) is not supported"],
  ["a{1001}", "not supported by RE2, the linear-time engine patterns run on: invalid repeat count: `{1001}`; a counted repeat goes up to {1000}"],
  ["\\p{Script=Greek}", "not supported by RE2, the linear-time engine patterns run on: invalid character class range: `\\p{Script=Greek}`"],
  ["((", "invalid regular expression: missing )"],
  ["\\A", "invalid regular expression: "],
  [`^(?:${Array.from({ length: 40 }, (_, i) => `x${i}a{100}`).join("|")})$`, `too large for RE2 (`],
];

describe("compilePattern refuses what RE2 cannot run, saying why", () => {
  test.each(REFUSED)("%p", (pattern, message) => {
    expect(() => compilePattern(pattern)).toThrow(PatternError);
    expect(() => compilePattern(pattern)).toThrow(message);
  });

  test(`the program bound (${MAX_PATTERN_PROGRAM} instructions) admits ^.{1,1000}$`, () => {
    expect(compilePattern("^.{1,1000}$").test("x".repeat(1000))).toBe(true);
  });
});

describe("schemaProblems names the place of every unusable pattern", () => {
  test("pattern, patternProperties keys and nested schemas, each with its path", () => {
    const schema = {
      type: "object",
      properties: {
        code: { type: "string", pattern: "^(?=[A-Z])" },
        tags: { type: "array", items: { type: "string", pattern: "(a)\\1" } },
        ok: { type: "string", pattern: "^[a-z]+$" },
      },
      patternProperties: { "^x-(?!y)": { type: "string" }, "^ok-": {} },
      propertyNames: { pattern: "(?<=a)" },
      $defs: { id: { type: "string", pattern: "((" } },
    };
    // Each schema's own patterns, then the schemas inside it.
    expect(schemaProblems(schema)).toEqual([
      'patternProperties["^x-(?!y)"]: the lookahead (?!…) is not supported (patterns run on RE2, in linear time, which has no lookahead, lookbehind or backreferences)',
      "properties.code.pattern: the lookahead (?=…) is not supported (patterns run on RE2, in linear time, which has no lookahead, lookbehind or backreferences)",
      "properties.tags.items.pattern: the backreference \\1 is not supported (patterns run on RE2, in linear time, which has no lookahead, lookbehind or backreferences)",
      "propertyNames.pattern: the lookbehind (?<=…) is not supported (patterns run on RE2, in linear time, which has no lookahead, lookbehind or backreferences)",
      "$defs.id.pattern: invalid regular expression: missing )",
    ]);
    expect(patternProblems({ properties: { a: { pattern: "^ok$" } } })).toEqual([]);
  });

  test("a stored schema RE2 cannot run makes publishing a clear 422 line, never a crash", () => {
    const lines = validateData("legacy.type", { type: "string", pattern: "^(?=a)" }, "abc");
    expect(lines).toEqual([
      "data: cannot be checked, the schema of event type 'legacy.type' is not usable: a pattern cannot be used: the lookahead (?=…) is not supported (patterns run on RE2, in linear time, which has no lookahead, lookbehind or backreferences)",
    ]);
  });
});

describe("validateData with patterns", () => {
  // Bun's engine (JavaScriptCore) gives up on a match after ~0.4 s of backtracking and answers
  // "no match": slow, and wrong for a string that does match once the engine gets past the
  // first alternative. RE2 answers both at once, correctly.
  const schema = {
    type: "object",
    properties: { s: { type: "string", pattern: "^(?:(a+)+b|a+!)$" }, t: { type: "string", pattern: "^(a+)+$" } },
    patternProperties: { "^(x+)+y$": { type: "integer" } },
  };

  test("catastrophic patterns on hostile strings answer correctly", () => {
    const aaa = "a".repeat(5_000);
    expect(validateData("t.hostile", schema, { s: `${aaa}!` })).toEqual([]);
    expect(validateData("t.hostile", schema, { s: `${aaa}?` })).toEqual(['data.s: must match the pattern "^(?:(a+)+b|a+!)$"']);
    expect(validateData("t.hostile", schema, { t: `${aaa}!` })).toEqual(['data.t: must match the pattern "^(a+)+$"']);
    expect(validateData("t.hostile", schema, { t: aaa, [`${"x".repeat(5_000)}y`]: "no" })).toEqual([
      `data.${"x".repeat(5_000)}y: must be integer`,
    ]);
    expect(validateData("t.hostile", schema, { [`${"x".repeat(5_000)}!`]: "not checked: the key does not match" })).toEqual([]);
  }, 30_000);

  test("error messages stay the API's words", () => {
    expect(validateData("t.words", { type: "string", pattern: "^[A-Z]{3}$" }, "ab")).toEqual(['data: must match the pattern "^[A-Z]{3}$"']);
  });
});

test("[[event_types]] in the config file: a lookahead is a config problem naming its place and line", () => {
  const toml = ["[[event_types]]", 'name = "member.added"', `schema = '{"properties": {"id": {"pattern": "^(?!x)"}}}'`, ""].join("\n");
  expect(configProblems(toml)).toEqual([
    "event_types[0].schema: properties.id.pattern: the lookahead (?!…) is not supported (patterns run on RE2, in linear time, which has no lookahead, lookbehind or backreferences) (line 3)",
  ]);
});
