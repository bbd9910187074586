// The memory guard: a full collection only when the resident set is over the soft limit.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { memoryGuard } from "../../src/memory-guard.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { startServer } from "../../src/server.ts";
import { publicResolver, testConfig } from "../support/harness.ts";

const MIB = 1024 * 1024;
const logger = createLogger("silent");

function fakeGuard(limitBytes: number, rss: number[]) {
  let collected = 0;
  let counted = 0;
  const readings = [...rss];
  const guard = memoryGuard({
    limitBytes,
    logger,
    rss: () => readings.shift() ?? 0,
    collect: () => collected++,
    onCollect: () => counted++,
  });
  return { guard, collected: () => collected, counted: () => counted };
}

describe("memory guard", () => {
  test("collects when the resident set is over the limit, not at or under it", () => {
    // Each check reads the RSS once before, and once more after a collection (for the log).
    const g = fakeGuard(100 * MIB, [50 * MIB, 100 * MIB, 150 * MIB, 60 * MIB, 99 * MIB]);
    expect(g.guard.check()).toBe(false);
    expect(g.guard.check()).toBe(false);
    expect(g.guard.check()).toBe(true);
    expect(g.guard.check()).toBe(false);
    expect(g.collected()).toBe(1);
    expect(g.counted()).toBe(1);
  });

  test("a limit of 0 never collects", () => {
    const g = fakeGuard(0, [10_000 * MIB, 10_000 * MIB]);
    expect(g.guard.check()).toBe(false);
    expect(g.collected()).toBe(0);
  });

  test("the real collector runs when over the limit", () => {
    const guard = memoryGuard({ limitBytes: 1, logger });
    expect(guard.check()).toBe(true);
  });

  test("the server runs the guard and counts forced collections in /metrics", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hookline-memory-"));
    // 1 MiB: always over, so the first check (after a second) collects.
    const config = testConfig({ server: { port: 0, host: "127.0.0.1", memory_soft_limit_mb: 1 } }, join(dir, "h.db"));
    const server = await startServer(config, { logger, resolver: publicResolver });
    try {
      const forced = async () => {
        const text = await (await fetch(`${server.url}/metrics`)).text();
        return {
          forced: Number(text.match(/^hookline_forced_gc_total (\d+)/m)?.[1] ?? Number.NaN),
          rss: Number(text.match(/^hookline_resident_memory_bytes (\d+)/m)?.[1] ?? Number.NaN),
        };
      };
      expect((await forced()).rss).toBeGreaterThan(MIB);
      const deadline = Date.now() + 5_000;
      let seen = (await forced()).forced;
      while (seen < 1 && Date.now() < deadline) {
        await Bun.sleep(100);
        seen = (await forced()).forced;
      }
      expect(seen).toBeGreaterThanOrEqual(1);
    } finally {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
