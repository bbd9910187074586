// log.format = "pretty": one line per record whatever the values hold. A client-chosen value (a
// request id, a receiver's error text) with spaces, quotes, "=" or control characters is quoted
// JSON-style, so it can neither start a forged line nor pose as another field.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { prettyLine } from "../../src/observability/logger.ts";
import { quoteIfNeeded, safeJson } from "../../src/observability/quote.ts";

const T = "2030-01-01T00:00:00.000Z";
const line = (fields: Record<string, unknown>, msg = "request") => prettyLine(JSON.stringify({ level: 30, time: T, msg, ...fields }));

const CASES: Array<[string, unknown, string]> = [
  ["a plain token stays bare", "req_01HX-abc.def:1/2@x+y%20*", "req_01HX-abc.def:1/2@x+y%20*"],
  ["a space is quoted", "hello world", '"hello world"'],
  ["an = is quoted", "status=500", '"status=500"'],
  ["a quote is escaped", 'a"b', '"a\\"b"'],
  ["a backslash is escaped", "a\\b", '"a\\\\b"'],
  ["the empty string is visible", "", '""'],
  ["a newline cannot end the line", "x\n2030-01-01T00:00:00.000Z ERROR forged", '"x\\n2030-01-01T00:00:00.000Z ERROR forged"'],
  ["a carriage return", "x\rERROR", '"x\\rERROR"'],
  ["an ANSI escape", "\u001b[2Kok", '"\\u001b[2Kok"'],
  ["DEL", "a\u007fb", '"a\\u007fb"'],
  ["a C1 control (CSI)", "a\u009b2Jb", '"a\\u009b2Jb"'],
  ["the line separator", "a\u2028b", '"a\\u2028b"'],
  ["the paragraph separator", "a\u2029b", '"a\\u2029b"'],
  ["a bidi override", "abc\u202edef", '"abc\\u202edef"'],
  ["a bidi isolate", "abc\u2066def", '"abc\\u2066def"'],
  ["non-ASCII text is quoted but kept readable", "café", '"café"'],
  ["a number", 200, "200"],
  ["a boolean", true, "true"],
  ["null", null, "null"],
  ["an object is JSON with its strings escaped", { message: "a\nb", code: "x\u2028" }, '{"message":"a\\nb","code":"x\\u2028"}'],
  ["an array", ["a b", 1], '["a b",1]'],
];

describe("prettyLine", () => {
  test.each(CASES)("%s", (_label, value, shown) => {
    expect(line({ v: value })).toBe(`${T} INFO request v=${shown}\n`);
  });

  test("every case is one line, and what is shown parses back to the value", () => {
    for (const [, value, shown] of CASES) {
      const out = line({ v: value });
      expect(out.split("\n")).toEqual([expect.any(String), ""]);
      expect(out).not.toMatch(/[\r\u2028\u2029\u0085]/);
      if (typeof value === "string" && shown.startsWith('"')) expect(JSON.parse(shown)).toBe(value);
    }
  });

  test("a forged field inside a value stays inside it", () => {
    const out = line({ request_id: "abc status=500 path=/admin", status: 200 });
    expect(out).toBe(`${T} INFO request request_id="abc status=500 path=/admin" status=200\n`);
  });

  test("the message is free text, quoted only when it holds =, a quote or a control character", () => {
    expect(line({}, "hookline listening")).toBe(`${T} INFO hookline listening\n`);
    expect(line({}, "sweep (in 1 s): done; `ok`")).toBe(`${T} INFO sweep (in 1 s): done; \`ok\`\n`);
    expect(line({}, "a\nb")).toBe(`${T} INFO "a\\nb"\n`);
    expect(line({}, "x k=v")).toBe(`${T} INFO "x k=v"\n`);
    expect(line({}, "")).toBe(`${T} INFO\n`);
  });

  test("field names are quoted too when they are not plain", () => {
    expect(line({ "a b": 1 })).toBe(`${T} INFO request "a b"=1\n`);
    expect(line({ "x\ny": 1 })).toBe(`${T} INFO request "x\\ny"=1\n`);
  });

  test("levels are named", () => {
    expect(prettyLine(JSON.stringify({ level: 50, time: T, msg: "boom" }))).toBe(`${T} ERROR boom\n`);
  });

  test("safeJson and quoteIfNeeded escape what JSON.stringify leaves raw", () => {
    expect(JSON.stringify("\u2028\u009b")).toBe('"\u2028\u009b"');
    expect(safeJson("\u2028\u009b")).toBe('"\\u2028\\u009b"');
    expect(JSON.parse(safeJson("\u2028\u009b"))).toBe("\u2028\u009b");
    expect(quoteIfNeeded("key_01ABC")).toBe("key_01ABC");
  });
});

test('a real process with log.format = "pretty" writes one line per record whatever the values hold', async () => {
  const dir = mkdtempSync(join(tmpdir(), "hookline-log-pretty-"));
  try {
    const script = join(dir, "log.ts");
    await Bun.write(
      script,
      `import { createLogger } from ${JSON.stringify(join(import.meta.dir, "..", "..", "src", "observability", "logger.ts"))};
const log = createLogger("info", "pretty");
log.info({ request_id: "x\\n${T} ERROR forged request_id=evil", status: 200 }, "request");
log.info({ error: "bad \\"gateway\\" \\u2028 \\u001b[31mred" }, "delivery attempt failed");
`,
    );
    const proc = Bun.spawn([process.execPath, script], { stdout: "pipe", stderr: "pipe" });
    const out = await new Response(proc.stdout).text();
    expect(await proc.exited).toBe(0);
    const lines = out.split("\n");
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe("");
    expect(lines[0]).toMatch(/^\S+ INFO request request_id="x\\n\S+ ERROR forged request_id=evil" status=200$/);
    expect(lines[1]).toMatch(/^\S+ INFO delivery attempt failed error="bad \\"gateway\\" \\u2028 \\u001b\[31mred"$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
