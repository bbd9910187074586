import { type App, createApp } from "./api/app.ts";
import { ensureAdminAccess } from "./bootstrap.ts";
import type { Config } from "./config/types.ts";
import { octal } from "./db/files.ts";
import { acquireInstanceLock, type InstanceLock, InstanceLockedError } from "./db/instance-lock.ts";
import { type OpenedStore, openStore } from "./db/open-store.ts";
import type { FetchLike } from "./delivery/sender.ts";
import { startSweep } from "./delivery/sweep.ts";
import type { Clock } from "./domain/clock.ts";
import type { Resolver } from "./domain/destination.ts";
import { upsertDeclaredEventTypes } from "./domain/event-types.ts";
import { startMemoryGuard } from "./memory-guard.ts";
import { createLogger, type Logger } from "./observability/logger.ts";
import { createRuntime, maxRequestBodySize } from "./runtime.ts";
import { StartupError } from "./startup-error.ts";
import { VERSION } from "./version.ts";

export interface RunningServer {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export async function startServer(
  config: Config,
  opts: { logger?: Logger; clock?: Clock; resolver?: Resolver; fetch?: FetchLike } = {},
): Promise<RunningServer> {
  const logger = opts.logger ?? createLogger(config.log.level, config.log.format);
  // Before anything touches the database: a second instance must not migrate, sweep or deliver.
  const lock = lockDatabase(config);
  const undo: (() => Promise<void> | void)[] = [() => lock?.release()];
  try {
    checkPortFree(config);
    return await start(config, opts, logger, lock, undo);
  } catch (err) {
    // A refused start (port taken, a file not overwritten) leaves nothing running behind it.
    for (const step of undo.reverse()) await Promise.resolve(step()).catch(() => {});
    throw err;
  }
}

async function start(
  config: Config,
  opts: { clock?: Clock; resolver?: Resolver; fetch?: FetchLike },
  logger: Logger,
  lock: InstanceLock | undefined,
  undo: (() => Promise<void> | void)[],
): Promise<RunningServer> {
  // The file, its schema, the writer and the check that the key reads the stored secrets
  // (which throws, before anything is sent, when the database holds some the key cannot read).
  const opened = await openStore(config, { logger });
  undo.push(() => opened.close());
  if (opened.migrationsApplied > 0) {
    logger.info({ applied: opened.migrationsApplied, [opened.kind === "sqlite" ? "path" : "database"]: opened.location }, "database migrated");
  }
  warnIfExposed(opened, logger);
  const { deps, dispatcher, replays, closeOutbound } = createRuntime(config, opened.store, { ...opts, logger });
  const { store, clock } = deps;
  const secretsAtRest = opened.secretsAtRest;
  if (secretsAtRest && !secretsAtRest.keyConfigured) {
    logger.warn(
      "webhook secrets (signing secrets and secret header values) are stored in plaintext: set security.encryption_key (or HOOKLINE_SECURITY_ENCRYPTION_KEY) to 32 random bytes, e.g. `openssl rand -base64 32`, restart, then run `hookline secrets encrypt`",
    );
  } else if (secretsAtRest?.plaintext) {
    logger.warn("some webhook secrets (signing secrets or secret header values) are still stored in plaintext: run `hookline secrets encrypt`");
  }
  if (config.delivery.client === "fetch" && config.delivery.concurrency > 256) {
    logger.warn(
      { concurrency: config.delivery.concurrency },
      "delivery.concurrency is above 256: Bun's fetch queues requests past 256, and queued time counts against delivery.timeout",
    );
  }
  await upsertDeclaredEventTypes(deps);
  await ensureAdminAccess(deps);

  // The port before the dispatcher: an instance that cannot have it stops here, before it has
  // claimed or sent anything. No await between the two, so no request is served before the
  // dispatcher runs.
  const app = listen(createApp(deps), config);
  undo.push(async () => {
    await app.stop(true);
  });
  // Deliveries left claimed by a previous run come back when their lease expires (the sweep);
  // due ones are picked up right away.
  dispatcher.start();
  const sweep = startSweep({ store, clock, config, logger, metrics: deps.metrics, wake: () => dispatcher.wake() });
  // Replays left running by a previous run (or another replica whose lease ran out) go on.
  replays.start();
  const memory = startMemoryGuard({
    limitBytes: config.server.memory_soft_limit_mb * 1024 * 1024,
    logger,
    onCollect: () => deps.metrics.forcedCollections.inc(),
  });
  undo.push(
    () => dispatcher.stop(0),
    () => sweep.stop(),
    () => replays.stop(),
    () => memory.stop(),
  );
  const server = app.server;
  if (!server) throw new Error("the HTTP server did not start");
  const url = `http://${hostPort(config.server.host, server.port ?? config.server.port)}`;
  logger.info({ url, version: VERSION, database: opened.location }, "hookline listening");

  let stopping: Promise<void> | undefined;
  return {
    url,
    port: server.port ?? config.server.port,
    stop() {
      stopping ??= (async () => {
        // Stop accepting, let in-flight requests and attempts finish within the grace period,
        // give unfinished claims back, then close the database and give its lock back.
        const deadline = Date.now() + config.server.shutdown_grace;
        const grace = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), config.server.shutdown_grace).unref());
        const done = await Promise.race([app.stop().then(() => "done" as const), grace]);
        if (done === "timeout") await app.stop(true);
        await sweep.stop();
        await replays.stop();
        memory.stop();
        await dispatcher.stop(Math.max(0, deadline - Date.now()));
        closeOutbound();
        // What this replica holds of the shared rate buckets goes back while the store is open.
        await deps.limiter.close();
        await opened.close();
        lock?.release();
        logger.info("hookline stopped");
      })();
      return stopping;
    },
  };
}

function hostPort(host: string, port: number): string {
  return `${host.includes(":") ? `[${host}]` : host}:${port}`;
}

function lockDatabase(config: Config): InstanceLock | undefined {
  // PostgreSQL: any number of replicas share the database (and database.path is unused).
  if (config.database.url) return undefined;
  try {
    return acquireInstanceLock(config.database.path);
  } catch (err) {
    if (!(err instanceof InstanceLockedError)) throw err;
    throw new StartupError(
      `hookline: another Hookline is already running on the database ${err.database} (it holds ${err.lockFile}; a server, or \`hookline vacuum\`): stop it first, or give this one its own database.path`,
    );
  }
}

/**
 * Binds the port exclusively. Elysia asks Bun for SO_REUSEPORT by default, which let a second
 * `hookline serve` share the port silently (the kernel spread connections over both, and both
 * delivered); without it the bind fails when anything else listens there.
 */
function listen(app: App, config: Config): App {
  try {
    return app.listen({
      hostname: config.server.host,
      port: config.server.port,
      reusePort: false,
      maxRequestBodySize: maxRequestBodySize(config),
    });
  } catch (err) {
    throw listenError(err, config);
  }
}

/**
 * The same bind, given back at once, before the database is migrated or a first key made: a
 * port clash is found before the start has done anything. `listen` still decides (the port
 * could be taken in between).
 */
function checkPortFree(config: Config): void {
  if (config.server.port === 0) return;
  try {
    Bun.serve({ hostname: config.server.host, port: config.server.port, reusePort: false, fetch: () => new Response(null) }).stop(true);
  } catch (err) {
    throw listenError(err, config);
  }
}

function listenError(err: unknown, config: Config): unknown {
  const where = hostPort(config.server.host, config.server.port);
  const code = (err as { code?: unknown }).code;
  if (code === "EADDRINUSE") {
    return new StartupError(
      `hookline: cannot listen on ${where}: the port is already in use (another Hookline or another program listens there): stop it, or set server.port`,
    );
  }
  if (code === "EACCES" || code === "EADDRNOTAVAIL") {
    return new StartupError(`hookline: cannot listen on ${where} (${code}): ${(err as Error).message}; check server.host and server.port`);
  }
  return err;
}

/**
 * An existing data folder or database file that others may read is the operator's choice and
 * is not changed (only what Hookline creates is made owner-only): it is said, once, at start.
 */
function warnIfExposed(opened: OpenedStore, logger: Logger): void {
  for (const { path, mode, suggested } of opened.exposed) {
    logger.warn(
      { path, mode: octal(mode) },
      `${path} is accessible to other users: it holds webhook signing secrets and API key hashes; consider chmod ${suggested.toString(8)}`,
    );
  }
}
