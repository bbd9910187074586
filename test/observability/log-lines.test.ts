// The log destination: one write per event-loop turn for info lines, at once for warnings, and
// nothing left behind when the process exits.
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { LineBatcher } from "../../src/observability/log-lines.ts";
import { type RunResult, run } from "../support/process.ts";

function collecting() {
  const writes: string[] = [];
  const logger = pino({ base: undefined }, new LineBatcher({ write: (s: string) => writes.push(s) }));
  return { writes, logger };
}

const turn = () => new Promise((r) => setImmediate(r));

test("info lines of one turn go out in one write, after the turn", async () => {
  const { writes, logger } = collecting();
  logger.info({ n: 1 }, "request");
  logger.info({ n: 2 }, "request");
  logger.info({ n: 3 }, "request");
  expect(writes).toEqual([]);
  await turn();
  expect(writes).toHaveLength(1);
  expect((writes[0] as string).trim().split("\n").map((l) => JSON.parse(l).n)).toEqual([1, 2, 3]);
});

test("a warning is written at once, with the lines before it, in order", () => {
  const { writes, logger } = collecting();
  logger.info({ n: 1 }, "request");
  logger.warn({ n: 2 }, "storage trouble");
  expect(writes).toHaveLength(1);
  expect((writes[0] as string).trim().split("\n").map((l) => JSON.parse(l).n)).toEqual([1, 2]);
  logger.error({ n: 3 }, "worse");
  expect(writes).toHaveLength(2);
});

test("a long turn does not buffer without bound", () => {
  const { writes, logger } = collecting();
  const pad = "x".repeat(1_000);
  for (let i = 0; i < 200; i++) logger.info({ pad }, "request");
  expect(writes.length).toBeGreaterThanOrEqual(2);
  expect(writes.join("").length).toBeGreaterThan(64 * 1024);
});

/** Runs `body` as a script in a child process, with `createLogger` imported, and returns its output. */
async function inChild(body: string): Promise<RunResult> {
  const dir = mkdtempSync(join(tmpdir(), "hookline-log-"));
  try {
    const script = join(dir, "child.ts");
    const logger = JSON.stringify(join(import.meta.dir, "..", "..", "src", "observability", "logger.ts"));
    await Bun.write(script, `import { createLogger } from ${logger};\n${body}`);
    return await run([process.execPath, script], { cwd: dir });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("lines logged just before process.exit reach stdout", async () => {
  const res = await inChild(`const log = createLogger("info");
for (let i = 0; i < 5; i++) log.info({ i }, "last words");
process.exit(3);
`);
  expect(res.code).toBe(3);
  expect(res.stdout.trim().split("\n").map((l) => JSON.parse(l).i)).toEqual([0, 1, 2, 3, 4]);
});

test("logger.flush(cb) writes what is buffered and calls back", async () => {
  const { writes, logger } = collecting();
  logger.info({ n: 1 }, "request");
  const flushed = await new Promise<Error | undefined>((resolve) => logger.flush((err) => resolve(err ?? undefined)));
  expect(flushed).toBeUndefined();
  expect(writes).toHaveLength(1);
});

test("a stdout that fails later (disk full) loses those lines but does not crash the server", async () => {
  let calls = 0;
  const logger = pino(
    { base: undefined },
    new LineBatcher({
      write: () => {
        calls++;
        throw Object.assign(new Error("no space left on device"), { code: "ENOSPC" });
      },
    }),
  );
  logger.info("request");
  await turn();
  expect(calls).toBe(1);
  // A warning is written at once, from the caller: the caller goes on.
  expect(() => logger.warn("storage trouble")).not.toThrow();
  expect(calls).toBe(2);
  const err = await new Promise<Error | undefined>((resolve) => {
    logger.info("request");
    logger.flush((e) => resolve(e ?? undefined));
  });
  expect(err?.message).toContain("no space left");
});

// The logger writes to file descriptor 1 itself (not through process.stdout.write), so only a
// child process's stdout shows what it really wrote. Every level is tried, up to fatal, and the
// same script at "info" must write them: a child that prints nothing for another reason (it
// failed to start, its output is lost) cannot pass for a silent logger.
const EVERY_LEVEL = `for (const level of ["trace", "debug", "info", "warn", "error", "fatal"]) log[level]({ at: level }, "x");
log.flush();
`;

test("the silent logger writes nothing (tests and the CLI use it)", async () => {
  const silent = await inChild(`const log = createLogger("silent");\n${EVERY_LEVEL}`);
  expect(silent).toEqual({ code: 0, stdout: "", stderr: "" });
  const info = await inChild(`const log = createLogger("info");\n${EVERY_LEVEL}`);
  expect(info.code).toBe(0);
  expect(info.stdout.trim().split("\n").map((l) => JSON.parse(l).at)).toEqual(["info", "warn", "error", "fatal"]);
});
