import type { Database } from "bun:sqlite";
import { createApp } from "./api/app.ts";
import { ensureAdminAccess } from "./bootstrap.ts";
import type { Config } from "./config/types.ts";
import { applyMigrations } from "./db/migrate.ts";
import { openDatabase } from "./db/open.ts";
import type { FetchLike } from "./delivery/sender.ts";
import { startSweep } from "./delivery/sweep.ts";
import type { Clock } from "./domain/clock.ts";
import type { Resolver } from "./domain/destination.ts";
import { upsertDeclaredEventTypes } from "./domain/event-types.ts";
import { startMemoryGuard } from "./memory-guard.ts";
import { createLogger, type Logger } from "./observability/logger.ts";
import { createRuntime, maxRequestBodySize } from "./runtime.ts";
import { VERSION } from "./version.ts";

export interface RunningServer {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export function openMigrated(config: Config): { sqlite: Database; applied: number } {
  const sqlite = openDatabase({
    path: config.database.path,
    synchronous: config.database.synchronous,
    busyTimeoutMs: config.database.busy_timeout,
  });
  try {
    return { sqlite, applied: applyMigrations(sqlite).applied };
  } catch (err) {
    sqlite.close();
    throw err;
  }
}

export async function startServer(
  config: Config,
  opts: { logger?: Logger; clock?: Clock; resolver?: Resolver; fetch?: FetchLike } = {},
): Promise<RunningServer> {
  const logger = opts.logger ?? createLogger(config.log.level, config.log.format);
  const { sqlite, applied } = openMigrated(config);
  if (applied > 0) logger.info({ applied, path: config.database.path }, "database migrated");
  // Throws, before anything is sent, when the database holds encrypted secrets the key cannot read.
  const { deps, dispatcher, secretsAtRest, closeOutbound } = createRuntime(config, sqlite, { ...opts, logger });
  if (!secretsAtRest.keyConfigured) {
    logger.warn(
      "webhook signing secrets are stored in plaintext: set security.encryption_key (or HOOKLINE_SECURITY_ENCRYPTION_KEY) to 32 random bytes, e.g. `openssl rand -base64 32`, restart, then run `hookline secrets encrypt`",
    );
  } else if (secretsAtRest.plaintext) {
    logger.warn("some webhook signing secrets are still stored in plaintext: run `hookline secrets encrypt`");
  }
  const { store, clock } = deps;
  if (config.delivery.client === "fetch" && config.delivery.concurrency > 256) {
    logger.warn(
      { concurrency: config.delivery.concurrency },
      "delivery.concurrency is above 256: Bun's fetch queues requests past 256, and queued time counts against delivery.timeout",
    );
  }
  await upsertDeclaredEventTypes(deps);
  await ensureAdminAccess(deps);

  // Deliveries left claimed by a previous run come back when their lease expires (the sweep);
  // due ones are picked up right away.
  dispatcher.start();
  const sweep = startSweep({ store, clock, config, logger, metrics: deps.metrics, wake: () => dispatcher.wake() });
  const memory = startMemoryGuard({
    limitBytes: config.server.memory_soft_limit_mb * 1024 * 1024,
    logger,
    onCollect: () => deps.metrics.forcedCollections.inc(),
  });

  const app = createApp(deps).listen({
    hostname: config.server.host,
    port: config.server.port,
    maxRequestBodySize: maxRequestBodySize(config),
  });
  const server = app.server;
  if (!server) throw new Error("the HTTP server did not start");
  const url = `http://${config.server.host.includes(":") ? `[${config.server.host}]` : config.server.host}:${server.port}`;
  logger.info({ url, version: VERSION, database: config.database.path }, "hookline listening");

  let stopping: Promise<void> | undefined;
  return {
    url,
    port: server.port ?? config.server.port,
    stop() {
      stopping ??= (async () => {
        // Stop accepting, let in-flight requests and attempts finish within the grace period,
        // give unfinished claims back, then close the database.
        const deadline = Date.now() + config.server.shutdown_grace;
        const grace = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), config.server.shutdown_grace).unref());
        const done = await Promise.race([app.stop().then(() => "done" as const), grace]);
        if (done === "timeout") await app.stop(true);
        await sweep.stop();
        memory.stop();
        await dispatcher.stop(Math.max(0, deadline - Date.now()));
        closeOutbound();
        await store.close();
        logger.info("hookline stopped");
      })();
      return stopping;
    },
  };
}
