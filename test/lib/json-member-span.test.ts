import { describe, expect, test } from "bun:test";
import { topLevelMemberSpan, topLevelMemberText } from "../../src/lib/json-member-span.ts";
import { prng, type Rng } from "../support/fuzz.ts";

describe("topLevelMemberText", () => {
  const cases: [string, string, string | undefined][] = [
    ["plain", '{"type":"a.b","data":{"x":1}}', '{"x":1}'],
    ["data first", '{"data":{"x":1},"type":"a.b"}', '{"x":1}'],
    ["whitespace around and inside kept", '{ "data" :\n\t{ "b" : 2 ,\r\n "a":1 }  , "type":"a.b" }', '{ "b" : 2 ,\r\n "a":1 }'],
    ["unicode escapes kept", '{"data":{"s":"\\u00e9\\ud83d\\ude00"}}', '{"s":"\\u00e9\\ud83d\\ude00"}'],
    ["big number kept as text", '{"data":{"n":12345678901234567890,"f":1.0e+2}}', '{"n":12345678901234567890,"f":1.0e+2}'],
    ["a nested data is not top level", '{"type":"x.y","meta":{"data":{"no":1}},"data":{"yes":1}}', '{"yes":1}'],
    ["a string that looks like the key", '{"note":"\\"data\\":{\\"no\\":1}","data":{"yes":true}}', '{"yes":true}'],
    ["brackets and quotes inside strings", '{"data":{"s":"}]{[\\\\","t":"\\\\\\""}}', '{"s":"}]{[\\\\","t":"\\\\\\""}'],
    ["an escaped key", '{"d\\u0061ta":{"k":1}}', '{"k":1}'],
    ["the last duplicate wins, as JSON.parse", '{"data":{"a":1},"data":{"b":2}}', '{"b":2}'],
    ["arrays and scalars", '{"data":[1,[2,{"x":"]"}]],"z":null}', '[1,[2,{"x":"]"}]]'],
    ["a scalar value", '{"data":  -0.5e3 }', "-0.5e3"],
    ["a string value", '{"data":"a\\"b"}', '"a\\"b"'],
    ["leading whitespace", ' \n {"data":{}}\n', "{}"],
    ["no such member", '{"type":"a.b"}', undefined],
    ["an empty object", "{ }", undefined],
    ["not an object", '[{"data":1}]', undefined],
    ["a key prefix is not the key", '{"database":1,"dat":2}', undefined],
    ["truncated", '{"data":{"x":1', undefined],
    ["an unclosed string", '{"data":"abc', undefined],
    ["no colon", '{"data" 1}', undefined],
    ["a missing value", '{"data":}', undefined],
  ];
  for (const [name, text, want] of cases) {
    test(name, () => {
      expect(topLevelMemberText(text, "data")).toBe(want);
    });
  }

  test("the span is offsets into the text", () => {
    expect(topLevelMemberSpan('{"a":1, "data" : [ ] }', "data")).toEqual({ start: 17, end: 20 });
  });

  test("a deep value does not exhaust the stack", () => {
    const deep = `${"[".repeat(100_000)}${"]".repeat(100_000)}`;
    expect(topLevelMemberText(`{"data":${deep}}`, "data")?.length).toBe(deep.length);
  });
});

// Random JSON written with random spacing, key order, escapes and number spellings: whatever
// the writing, the span parses to what JSON.parse gives for the member.
function space(r: Rng): string {
  return r.chance(0.6) ? "" : r.pick([" ", "\n", "\t", "\r\n", "  \n  "]);
}

function jsonString(r: Rng): string {
  const parts: string[] = [];
  const n = r.int(6);
  for (let i = 0; i < n; i++) {
    parts.push(
      r.pick([
        "a",
        "data",
        "é",
        "\\u00e9",
        "\\ud83d\\ude00",
        '\\"',
        "\\\\",
        "\\n",
        "\\/",
        "}",
        "]",
        "{",
        ",",
        ":",
        '\\"data\\":',
        "😀",
      ]),
    );
  }
  return `"${parts.join("")}"`;
}

function jsonValue(r: Rng, depth: number): string {
  const kind = depth > 4 ? r.int(3) : r.int(5);
  if (kind === 0) return r.pick(["0", "-1", "12345678901234567890", "1.0", "1e400", "-0.5E-3", "true", "false", "null"]);
  if (kind === 1 || kind === 2) return jsonString(r);
  if (kind === 3) {
    const items = Array.from({ length: r.int(4) }, () => `${space(r)}${jsonValue(r, depth + 1)}${space(r)}`);
    return `[${items.join(",")}${items.length === 0 ? space(r) : ""}]`;
  }
  return jsonObject(r, depth + 1, r.int(4));
}

function jsonObject(r: Rng, depth: number, members: number, extra: string[] = []): string {
  const keys = Array.from({ length: members }, () => (r.chance(0.3) ? '"data"' : jsonString(r))).concat(extra);
  const shuffled = keys.sort(() => r.next() - 0.5);
  const items = shuffled.map((k) => `${space(r)}${k}${space(r)}:${space(r)}${jsonValue(r, depth)}${space(r)}`);
  return `{${items.join(",")}${items.length === 0 ? space(r) : ""}}`;
}

test("property: the span parses to JSON.parse(body).data, over 3,000 random bodies", () => {
  const r = prng(19);
  let withData = 0;
  for (let i = 0; i < 3_000; i++) {
    const extra = r.chance(0.8) ? [r.pick(['"data"', '"d\\u0061ta"'])] : [];
    const body = `${space(r)}${jsonObject(r, 0, r.int(5), extra)}${space(r)}`;
    const parsed = JSON.parse(body) as Record<string, unknown>;
    const text = topLevelMemberText(body, "data");
    if (!Object.hasOwn(parsed, "data")) {
      expect(text).toBeUndefined();
      continue;
    }
    withData++;
    expect(text).toBeDefined();
    expect(JSON.parse(text as string)).toEqual(parsed.data);
    // Exactly the value's characters: no whitespace around, and a piece of the body.
    expect(text?.trim()).toBe(text as string);
    expect(body.includes(text as string)).toBe(true);
  }
  expect(withData).toBeGreaterThan(2_000);
});
