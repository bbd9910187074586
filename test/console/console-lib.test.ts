// The console's pure helpers: times in a zone with UTC kept, datetime-local inputs, ranges, paths.
import { describe, expect, test } from "bun:test";
import { accentVars, contrast, parseHex } from "../../console/src/lib/colour.ts";
import { millis, percent, splitList, withTenant } from "../../console/src/lib/format.ts";
import { tokenInFragment } from "../../console/src/lib/fragment.ts";
import { inRange, localInputToIso, relative, timeText } from "../../console/src/lib/time.ts";

describe("timeText", () => {
  test.each([
    ["2026-12-02T14:04:05Z", "Europe/Paris", "Dec 2, 2026, 3:04:05 PM", "2026-12-02 14:04:05 UTC"],
    ["2026-07-01T23:30:00.123Z", "America/New_York", "Jul 1, 2026, 7:30:00 PM", "2026-07-01 23:30:00 UTC"],
    ["2026-07-01T23:30:00Z", "UTC", "Jul 1, 2026, 11:30:00 PM", "2026-07-01 23:30:00 UTC"],
  ])("%s in %s", (iso, zone, local, utc) => {
    expect(timeText(iso, zone, "en-US")).toEqual({ local, utc });
  });
  test("not a time", () => expect(timeText("soon")).toBeNull());
});

test.each([
  [-30_000, "30 s ago"],
  [-5 * 60_000, "5 min ago"],
  [2 * 3_600_000, "in 2 h"],
  [-3 * 86_400_000, "3 d ago"],
])("relative %p ms → %s", (delta, text) => {
  const now = Date.parse("2026-01-01T00:00:00Z");
  expect(relative(new Date(now + delta).toISOString(), now)).toBe(text);
});

test("a datetime-local value is read in the viewer's zone; garbage is null", () => {
  const iso = localInputToIso("2026-03-01T10:00");
  expect(iso).toBe(new Date(2026, 2, 1, 10, 0).toISOString());
  expect(localInputToIso("")).toBeNull();
  expect(localInputToIso("yesterday")).toBeNull();
});

test("inRange with open and closed bounds", () => {
  const at = "2026-03-01T10:00:00Z";
  expect(inRange(at, null, null)).toBe(true);
  expect(inRange(at, "2026-03-01T10:00:00Z", "2026-03-01T10:00:00Z")).toBe(true);
  expect(inRange(at, "2026-03-01T10:00:01Z", null)).toBe(false);
  expect(inRange(at, null, "2026-03-01T09:59:59Z")).toBe(false);
});

test("formatters", () => {
  expect(percent(null)).toBe("–");
  expect(percent(1)).toBe("100 %");
  expect(percent(0.98765)).toBe("98.8 %");
  expect(millis(12.4)).toBe("12 ms");
  expect(millis(1520)).toBe("1.52 s");
  expect(millis(null)).toBe("–");
  expect(splitList(" member.added, invoice.* ,, *")).toEqual(["member.added", "invoice.*", "*"]);
  expect(withTenant("/console/webhooks", null)).toBe("/console/webhooks");
  expect(withTenant("/console/webhooks", "acme corp")).toBe("/console/webhooks?tenant=acme%20corp");
  expect(withTenant("/console/events?x=1", "acme")).toBe("/console/events?x=1&tenant=acme");
});

describe("accentVars: the portal's colour stays readable", () => {
  test.each([
    // The default, dark enough for white text and for links.
    ["#4f46e5", { accent: "#4f46e5", onAccent: "#ffffff", accentText: "#4f46e5" }],
    ["#1F4E8C", { accent: "#1f4e8c", onAccent: "#ffffff", accentText: "#1f4e8c" }],
    // A light yellow: ink on the buttons, ink links on white.
    ["#fc0", { accent: "#fc0", onAccent: "#1c1e21", accentText: "#1c1e21" }],
    // Mid orange: white text is worse than ink on it; as a link on white it fails 4.5:1.
    ["#f97316", { accent: "#f97316", onAccent: "#1c1e21", accentText: "#1c1e21" }],
  ])("%s", (colour, want) => {
    expect(accentVars(colour)).toEqual(want);
  });
  test("not a colour", () => {
    expect(accentVars("red")).toBeNull();
    expect(accentVars("#12345")).toBeNull();
    expect(accentVars("#1234567")).toBeNull();
  });
  test("contrast is WCAG's: black on white is 21:1, a colour on itself 1:1", () => {
    expect(contrast([0, 0, 0], [255, 255, 255])).toBeCloseTo(21, 5);
    expect(contrast([79, 70, 229], [79, 70, 229])).toBe(1);
    expect(parseHex("#abc")).toEqual([170, 187, 204]);
  });
});

describe("tokenInFragment", () => {
  test.each([
    ["#token=hkp_abc-DEF_1", "hkp_abc-DEF_1"],
    ["token=hkp_x", "hkp_x"],
    ["#a=1&token=hkp_y", "hkp_y"],
    ["#token=", null],
    ["", null],
    ["#other=1", null],
  ])("%p → %p", (hash, want) => {
    expect(tokenInFragment(hash)).toBe(want);
  });
});
