// `limit` takes one spelling per value: plain decimal digits, 1–100, no sign, no leading zero,
// no exponent, hex, fraction or whitespace. Number() accepted most of those.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ValidationError } from "../../src/domain/errors.ts";
import { DEFAULT_LIMIT, parseLimit, parsePage } from "../../src/domain/pagination.ts";
import { expectError, expectInvalid } from "../support/expect-error.ts";
import { type Harness, harness } from "../support/harness.ts";

const ACCEPTED: Array<[string, number]> = [
  ["1", 1],
  ["9", 9],
  ["10", 10],
  ["50", 50],
  ["99", 99],
  ["100", 100],
];

// Each of these was taken by Number() (or, for "", silently meant the default).
const REFUSED = [
  "",
  "0",
  "101",
  "1000",
  "-1",
  "+5",
  "05",
  "007",
  "5.0",
  "2.5",
  "1e1",
  "1E1",
  "0x10",
  "0b1",
  "0o7",
  " 5",
  "5 ",
  "\t5",
  "5\n",
  "Infinity",
  "NaN",
  "abc",
  "5abc",
  "1_0",
  "１０", // full-width digits
  "٥", // Arabic-Indic five
];

describe("parseLimit", () => {
  test.each(ACCEPTED)("%p → %p", (raw, n) => {
    expect(parseLimit(raw)).toBe(n);
  });

  test.each(REFUSED)("%p is refused", (raw) => {
    expect(parseLimit(raw)).toBeUndefined();
  });

  test("parsePage: no limit is the default; a refused one is a 422 item naming limit", () => {
    expect(parsePage({}, "wh")).toEqual({ limit: DEFAULT_LIMIT });
    expect(parsePage({ limit: "7" }, "wh")).toEqual({ limit: 7 });
    let caught: unknown;
    try {
      parsePage({ limit: "0x10" }, "wh");
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ValidationError);
    expect((caught as ValidationError).errors).toEqual(["limit: must be an integer from 1 to 100"]);
  });
});

describe("?limit= over HTTP", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness();
  });
  afterAll(() => h.close());

  const LISTS = ["/v1/webhooks", "/v1/events", "/v1/keys"];

  test.each(REFUSED)("limit=%p → 422 `limit: …` on every list", async (raw) => {
    for (const list of LISTS) {
      const res = await h.call("GET", `${list}?tenant=acme&limit=${encodeURIComponent(raw)}`);
      const body = await expectError(res, 422, "validation_failed", { label: `${list} limit=${JSON.stringify(raw)}` });
      expect(body.errors).toEqual(["limit: must be an integer from 1 to 100"]);
    }
  });

  test.each(["1", "100"])("limit=%p → 200", async (raw) => {
    for (const list of LISTS) {
      const res = await h.call("GET", `${list}?tenant=acme&limit=${raw}`);
      expect(res.status, list).toBe(200);
    }
  });

  test("a webhook's deliveries list refuses the same spellings", async () => {
    const res = await h.call("GET", "/v1/webhooks/wh_01ARZ3NDEKTSV4RRFFQ69G5FAV/deliveries?limit=1e1");
    // 422 before 404 (API.md §10 order of checks).
    expect(await expectInvalid(res)).toEqual(["limit: must be an integer from 1 to 100"]);
  });
});
