// Free text that reaches terminals, logs and the console (API key names, event type
// descriptions) refuses control characters (src/lib/text.ts): 422 naming the field over HTTP,
// exit 2 from the CLI (cli.test.ts), a config error naming the key for [[event_types]].
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../src/config/load.ts";
import { configProblems } from "../support/config-problems.ts";
import { expectInvalid } from "../support/expect-error.ts";
import type { Page } from "../support/fixtures.ts";
import { type Harness, harness } from "../support/harness.ts";
import { run } from "../support/process.ts";

const BAD: Array<[string, string]> = [
  ["a newline (a forged log or list line)", "ops\nkey_01FORGED\tacme\tadmin"],
  ["a tab (a forged column)", "a\tb"],
  ["a carriage return", "a\rb"],
  ["an ANSI escape", "ok\u001b[2K\u001b[1Gother"],
  ["NUL", "a\u0000b"],
  ["DEL", "a\u007fb"],
  ["a C1 control (CSI)", "a\u009b2J"],
  ["the line separator", "a\u2028b"],
  ["a bidi override (Trojan Source)", "invoice\u202efdp.exe"],
  ["a bidi isolate", "a\u2066b\u2069"],
];
const GOOD = ["ops — café 東京", "backend (prod) #2", "עברית\u200f", ""];
const CONTROL = "must not contain control characters";

let h: Harness;
beforeAll(async () => {
  h = await harness();
});
afterAll(() => h.close());

describe("POST /v1/keys name", () => {
  test.each(BAD)("%s → 422 naming name; nothing stored", async (_label, name) => {
    const before = ((await (await h.call("GET", "/v1/keys?tenant=acme")).json()) as Page<unknown>).data.length;
    const res = await h.call("POST", "/v1/keys", { body: { tenant_id: "acme", role: "viewer", name } });
    expect(await expectInvalid(res)).toEqual([`name: ${CONTROL}`]);
    const after = ((await (await h.call("GET", "/v1/keys?tenant=acme")).json()) as Page<unknown>).data.length;
    expect(after).toBe(before);
  });

  test("reported with the body's other problems", async () => {
    const body = { tenant_id: "acme", role: "viewer", name: "a\nb", expires_at: "tomorrow" };
    expect(await expectInvalid(await h.call("POST", "/v1/keys", { body }))).toEqual([
      `name: ${CONTROL}`,
      "expires_at: must be an RFC 3339 timestamp with a time zone, e.g. 2027-01-31T00:00:00Z",
    ]);
  });

  test.each(GOOD)("%p is a fine name", async (name) => {
    const res = await h.call("POST", "/v1/keys", { body: { tenant_id: "acme", role: "viewer", name } });
    expect(res.status).toBe(201);
    expect(((await res.json()) as { name: string }).name).toBe(name);
  });
});

describe("event type descriptions", () => {
  test.each(BAD)("%s → 422 naming description on POST and PATCH; nothing changed", async (_label, description) => {
    const name = `ctl.t${Math.random().toString(36).slice(2, 10)}`;
    expect(await expectInvalid(await h.call("POST", "/v1/event-types", { body: { name, description } }))).toEqual([
      `description: ${CONTROL}`,
    ]);
    expect((await h.call("POST", "/v1/event-types", { body: { name, description: "fine" } })).status).toBe(201);
    expect(await expectInvalid(await h.call("PATCH", `/v1/event-types/${name}`, { body: { description } }))).toEqual([
      `description: ${CONTROL}`,
    ]);
    const listed = (await (await h.call("GET", "/v1/event-types")).json()) as { data: Array<{ name: string; description: string }> };
    expect(listed.data.find((t) => t.name === name)?.description).toBe("fine");
  });

  test.each(GOOD)("%p is a fine description", async (description) => {
    const name = `ok.t${Math.random().toString(36).slice(2, 10)}`;
    const res = await h.call("POST", "/v1/event-types", { body: { name, description } });
    expect(res.status).toBe(201);
    const patched = await h.call("PATCH", `/v1/event-types/${name}`, { body: { description } });
    expect(patched.status).toBe(200);
  });
});

/** A TOML basic string with everything outside printable ASCII as a \uXXXX escape. */
function tomlString(text: string): string {
  const unicode = (ch: string) => `\\u${(ch.codePointAt(0) ?? 0).toString(16).padStart(4, "0")}`;
  return `"${[...text].map((ch) => (/[ -~]/.test(ch) && ch !== '"' && ch !== "\\" ? ch : unicode(ch))).join("")}"`;
}

describe("[[event_types]] in the config file", () => {
  const dir = mkdtempSync(join(tmpdir(), "hookline-ctl-config-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // TOML escapes, so the file itself is plain text.
  const toml = '[[event_types]]\nname = "member.added"\n\n[[event_types]]\nname = "member.removed"\ndescription = "gone\\n2030-01-01 ERROR forged"\n';

  test("a description with a control character is a config error naming the key and its line", () => {
    expect(configProblems(toml)).toEqual([`event_types[1].description: ${CONTROL} (line 6)`]);
    const path = join(dir, "a.toml");
    for (const [, bad] of BAD) {
      writeFileSync(path, `[[event_types]]\nname = "member.added"\ndescription = ${tomlString(bad)}\n`);
      expect(() => loadConfig({ path, env: {} })).toThrow(`event_types[0].description: ${CONTROL} (line 3)`);
    }
  });

  test("config check exits 2 naming it, before any database exists", async () => {
    const cwd = mkdtempSync(join(dir, "cli-"));
    writeFileSync(join(cwd, "hookline.toml"), toml);
    const res = await run([process.execPath, join(import.meta.dir, "..", "..", "src", "main.ts"), "config", "check"], { cwd });
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(`event_types[1].description: ${CONTROL} (line 6)`);
  });
});
