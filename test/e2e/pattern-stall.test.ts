// A JSON Schema `pattern` cannot stall the process (issue 15, item 5), checked on a real server
// process — from the sources and as the compiled binary — because a backtracking regex blocks
// its thread: only a client in another process can time it out and still report.
//
// Bun's own engine (JavaScriptCore) gives up on one match after ~0.4 s of backtracking and then
// answers "no match", so the old code (a) took ~80 s for the 200 hostile items below, far past
// the generous 20 s bound per request, and (b) refused a value that does match.
import type { Subprocess } from "bun";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { run, startServe } from "../support/process.ts";

const root = join(import.meta.dir, "..", "..");
const ROOT_KEY = "pattern-stall-root-key-0123456789abcdef";
const REQUEST_BOUND_MS = 20_000;
let work: string;
let binary: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "hookline-pattern-"));
  // The binary as `npm run build` makes it (the same command line, another output file), as
  // test/binary.test.ts does.
  binary = join(work, "hookline");
  const args = pkg.scripts.build.split(/\s+/).slice(1);
  args[args.indexOf("--outfile") + 1] = binary;
  const res = await run([process.execPath, ...args], { cwd: root });
  expect(res.code, res.stderr).toBe(0);
}, 120_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

const CATASTROPHIC = {
  type: "object",
  properties: {
    s: { type: "string", pattern: "^(?:(a+)+b|a+!)$" },
    list: { type: "array", items: { type: "string", pattern: "^(a+)+$" } },
  },
};
const AAA = "a".repeat(5_000);
const LOOKAHEAD = { type: "object", properties: { s: { type: "string", pattern: "^(?=a)" } } };
const RE2_NOTE = "(patterns run on RE2, in linear time, which has no lookahead, lookbehind or backreferences)";

async function stop(proc: Subprocess): Promise<void> {
  proc.kill("SIGTERM");
  // A process stuck in a regex never runs its SIGTERM handler: kill it for good after a while.
  const exited = await Promise.race([proc.exited, Bun.sleep(10_000).then(() => undefined)]);
  if (exited === undefined) {
    proc.kill("SIGKILL");
    await proc.exited;
  }
}

describe.each([
  ["from the sources", () => [process.execPath, join(root, "src", "main.ts"), "serve"]],
  ["the compiled binary", () => [binary, "serve"]],
])("%s", (_name, command) => {
  test("a catastrophic pattern: 422 for a hostile non-matching value, 202 for a matching one, a lookahead refused at create and update", async () => {
    const cwd = mkdtempSync(join(work, "run-"));
    const server = await startServe(command(), { cwd, env: { HOOKLINE_ROOT_KEY: ROOT_KEY } });
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${server.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${ROOT_KEY}`, "content-type": "application/json" },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(REQUEST_BOUND_MS),
      });
      return { status: res.status, body: (await res.json()) as { errors?: string[] } };
    };
    try {
      expect((await call("POST", "/v1/event-types", { name: "order.checked", schema: CATASTROPHIC })).status).toBe(201);

      const publish = (data: unknown) => call("POST", "/v1/events", { tenant_id: "acme", type: "order.checked", data });
      // Matches (by the second alternative, after the first has backtracked): 202.
      expect((await publish({ s: `${AAA}!` })).status).toBe(202);
      expect(await publish({ s: `${AAA}?` })).toEqual({
        status: 422,
        body: expect.objectContaining({ error: "validation_failed", errors: ['data.s: must match the pattern "^(?:(a+)+b|a+!)$"'] }),
      });
      // 200 hostile items in one ~200 KB body: every one is checked (and listed, up to 50 lines).
      const items = Array.from({ length: 200 }, () => `${"a".repeat(1_000)}!`);
      const many = await publish({ list: items });
      expect(many.status).toBe(422);
      expect(many.body.errors?.[0]).toBe('data.list[0]: must match the pattern "^(a+)+$"');
      expect(many.body.errors).toHaveLength(50);
      expect((await call("GET", "/healthz")).status).toBe(200);

      const lookahead = [`schema: properties.s.pattern: the lookahead (?=…) is not supported ${RE2_NOTE}`];
      const created = await call("POST", "/v1/event-types", { name: "order.looked", schema: LOOKAHEAD });
      expect(created).toEqual({ status: 422, body: expect.objectContaining({ errors: lookahead }) });
      const updated = await call("PATCH", "/v1/event-types/order.checked", { schema: LOOKAHEAD });
      expect(updated).toEqual({ status: 422, body: expect.objectContaining({ errors: lookahead }) });
      // The stored schema is kept.
      expect((await publish({ s: `${AAA}?` })).status).toBe(422);
      expect((await publish({ s: `${AAA}!` })).status).toBe(202);
    } finally {
      await stop(server.proc);
    }
  }, 90_000);
});
