import type { Database } from "bun:sqlite";
import type { ApiDeps } from "./api/deps.ts";
import { RateLimiter } from "./api/rate-limit.ts";
import type { Config } from "./config/types.ts";
import { checkStoredSecrets, type StoredSecrets } from "./db/secrets-migration.ts";
import { createSqliteStore } from "./db/sqlite-store.ts";
import { localWriter, type Writer } from "./db/writer/ops.ts";
import { startWriterThread } from "./db/writer/thread.ts";
import { Dispatcher } from "./delivery/dispatcher.ts";
import { policyFromConfig } from "./delivery/retry-policy.ts";
import { createHttpPool, type HttpPool } from "./delivery/http-pool.ts";
import { createFetchSender, createSender, type FetchLike, type Sender } from "./delivery/sender.ts";
import { type Clock, systemClock } from "./domain/clock.ts";
import { type Resolver, systemResolver } from "./domain/destination.ts";
import { createSecretBox } from "./domain/secret-box.ts";
import type { Logger } from "./observability/logger.ts";
import { Metrics } from "./observability/metrics.ts";
import { VERSION } from "./version.ts";

export interface RuntimeOptions {
  logger: Logger;
  clock?: Clock;
  resolver?: Resolver;
  fetch?: FetchLike;
  /** Replaces the outbound client entirely (tests with their own CA); wins over `fetch`. */
  send?: Sender;
  random?: () => number;
  /** Size of the dispatcher's in-memory hand-off (tests shrink it). */
  handoffMax?: number;
}

export interface Runtime {
  deps: ApiDeps;
  dispatcher: Dispatcher;
  /** Where the hot-path writes run (the store closes it). */
  writer: Writer;
  /** Closes idle outbound connections; after the dispatcher has stopped. */
  closeOutbound(): void;
  /** How webhook secrets are stored, for the start-up warning. */
  secretsAtRest: StoredSecrets & { keyConfigured: boolean };
}

/**
 * Wires the store, the dispatcher and the API's dependencies around one open database. The
 * server and the tests build Hookline the same way; only the seams (clock, resolver, fetch)
 * differ.
 */
export function createRuntime(config: Config, sqlite: Database, opts: RuntimeOptions): Runtime {
  const { logger } = opts;
  const clock = opts.clock ?? systemClock;
  const resolver = opts.resolver ?? systemResolver;
  // Secrets are encrypted at rest when security.encryption_key is set. A database whose secrets
  // the key cannot read (no key, another key) is refused here, before anything is sent.
  const secrets = createSecretBox(config.security.encryption_key);
  const stored = checkStoredSecrets(sqlite, secrets);
  // The hot-path writes on a thread of their own with a second connection; an in-memory
  // database cannot be shared with one, so it keeps them on this connection.
  const writer =
    config.database.path === ":memory:" || config.database.path === ""
      ? localWriter(sqlite, secrets)
      : startWriterThread(
          {
            path: config.database.path,
            synchronous: config.database.synchronous,
            busyTimeoutMs: config.database.busy_timeout,
            encryptionKey: config.security.encryption_key,
          },
          (why) => logger.error({ why }, "the database writer thread was lost; writes answer 503 until it is replaced (in 1 s)"),
        );
  const store = createSqliteStore(sqlite, { secrets, writer });
  const outbound = opts.send ? { send: opts.send } : outboundSender(config, opts.fetch);
  // The dispatcher is created below; the metrics ask it for in-flight counts only at scrape time.
  let inFlight = () => 0;
  let held = () => 0;
  const metrics = new Metrics({
    gauges: (now) => store.gauges(now),
    inFlight: () => inFlight(),
    held: () => held(),
    now: () => clock.now(),
    outbound: () => outbound.pool?.stats(),
  });
  const dispatcher = new Dispatcher({
    metrics,
    store,
    clock,
    config,
    logger,
    resolver,
    send: outbound.send,
    policy: policyFromConfig(config.delivery),
    version: VERSION,
    random: opts.random ?? Math.random,
    ...(opts.handoffMax ? { handoffMax: opts.handoffMax } : {}),
  });
  inFlight = () => dispatcher.inFlight;
  held = () => dispatcher.held;
  const deps: ApiDeps = {
    metrics,
    store,
    clock,
    config,
    resolver,
    logger,
    version: VERSION,
    limiter: new RateLimiter(config.rate_limit.per_minute, clock),
    dispatch: dispatcher,
    async readiness() {
      const database = await store.ping();
      const dispatching = dispatcher.isRunning;
      return { ready: database && dispatching, checks: { database, dispatcher: dispatching } };
    },
  };
  return {
    deps,
    dispatcher,
    writer,
    closeOutbound: () => outbound.pool?.close(),
    secretsAtRest: { ...stored, keyConfigured: secrets.enabled },
  };
}

/** An injected fetch (tests standing in for the network) wins; otherwise `delivery.client`. */
function outboundSender(config: Config, fetchFn: FetchLike | undefined): { send: Sender; pool?: HttpPool | undefined } {
  if (fetchFn) return { send: createFetchSender(fetchFn) };
  if (config.delivery.client === "fetch") return { send: createFetchSender() };
  // At most `concurrency` connections are busy at once, but not spread evenly: a receiver that
  // had 4 attempts in flight a moment ago will again. Keeping 4× as many idle (they close after
  // a few seconds unused) measured ~1,100 connections for 20,000 deliveries to 200 receivers in
  // random order, against ~6,700 when keeping 1×.
  const pool = createHttpPool({ maxIdle: Math.max(64, 4 * config.delivery.concurrency) });
  return { send: createSender(pool.transport), pool };
}

/**
 * Our parser answers 413 with the JSON envelope (without reading a body whose declared length
 * is too large); Bun's own, bare 413 is only a backstop for absurd sizes.
 */
export function maxRequestBodySize(config: Config): number {
  return Math.max(config.server.max_body_bytes * 4, 8 * 1024 * 1024);
}
