import type { Logger } from "./observability/logger.ts";

/**
 * Keeps the resident set near `server.memory_soft_limit_mb`. Under sustained load (a backlog
 * draining at thousands of deliveries a second) the JavaScript heap grows well past what is
 * live before the collector runs on its own, and the process's peak RSS is mostly garbage:
 * measured with the backlog bench, peaks of 250–310 MiB with ~30 MiB live. Checking the RSS
 * once a second and forcing a full collection when it is over the limit kept the peak at
 * ~215 MiB with the same drain rate. Each forced collection pauses the event loop (~30 ms at
 * that heap size), so it is only done over the limit and at most once per check.
 */
export interface MemoryGuardDeps {
  limitBytes: number;
  logger: Pick<Logger, "debug">;
  /** Counts forced collections (a metric). */
  onCollect?: () => void;
  rss?: () => number;
  collect?: () => void;
}

export interface MemoryGuard {
  /** One check: collects when over the limit; says whether it did. */
  check(): boolean;
  stop(): void;
}

export const CHECK_EVERY_MS = 1_000;

export function memoryGuard(deps: MemoryGuardDeps): MemoryGuard {
  const rss = deps.rss ?? (() => process.memoryUsage.rss());
  const collect = deps.collect ?? (() => Bun.gc(true));
  return {
    check() {
      if (deps.limitBytes <= 0) return false;
      const before = rss();
      if (before <= deps.limitBytes) return false;
      const started = performance.now();
      collect();
      deps.onCollect?.();
      deps.logger.debug(
        { rss_before: before, rss_after: rss(), pause_ms: Math.round(performance.now() - started) },
        "memory over the soft limit: full garbage collection",
      );
      return true;
    },
    stop() {},
  };
}

/** Runs the guard's check every second until stopped (a no-op when the limit is 0). */
export function startMemoryGuard(deps: MemoryGuardDeps): MemoryGuard {
  const guard = memoryGuard(deps);
  if (deps.limitBytes <= 0) return guard;
  const timer = setInterval(() => guard.check(), CHECK_EVERY_MS);
  timer.unref?.();
  return { check: guard.check, stop: () => clearInterval(timer) };
}
