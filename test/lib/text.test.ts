import { describe, expect, test } from "bun:test";
import { controlCharsError, hasControlCharacters } from "../../src/lib/text.ts";

describe("hasControlCharacters", () => {
  test.each([
    ["", false],
    ["Orders for the billing team", false],
    ["émoji 🎉 and CJK 注文", false],
    ["right-to-left שלום with a mark \u200f", false],
    ["arabic letter mark \u061c", false],
    ["no-break\u00a0space", false],
    ["soft\u00adhyphen", false],
    ["\u0000", true],
    ["tab\there", true],
    ["new\nline", true],
    ["carriage\rreturn", true],
    ["escape \u001b[31mred", true],
    ["unit separator \u001f", true],
    ["delete \u007f", true],
    ["C1 \u0080", true],
    ["CSI \u009b", true],
    ["C1 end \u009f", true],
    ["line\u2028separator", true],
    ["paragraph\u2029separator", true],
    ["embedding \u202a", true],
    ["override \u202e", true],
    ["isolate \u2066", true],
    ["pop isolate \u2069", true],
  ])("%j → %p", (s, expected) => {
    expect(hasControlCharacters(s)).toBe(expected);
  });

  test("the characters just outside the ranges are allowed", () => {
    for (const c of ["\u0020", "\u007e", "\u00a0", "\u2027", "\u202f", "\u2065", "\u206a"]) {
      expect(hasControlCharacters(c)).toBe(false);
    }
  });
});

test("controlCharsError names the field", () => {
  expect(controlCharsError("description")).toBe("description: must not contain control characters");
});
