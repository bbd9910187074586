import type { ApiDeps } from "./api/deps.ts";
import { rateLimiterFor } from "./api/rate-limit-shared.ts";
import type { Config } from "./config/types.ts";
import { Dispatcher } from "./delivery/dispatcher.ts";
import { ReplayRunner } from "./delivery/replay-runner.ts";
import { policyFromConfig } from "./delivery/retry-policy.ts";
import { createHttpPool, type HttpPool } from "./delivery/http-pool.ts";
import { createFetchSender, createSender, type FetchLike, type Sender } from "./delivery/sender.ts";
import { type Clock, systemClock } from "./domain/clock.ts";
import { type Resolver, systemResolver } from "./domain/destination.ts";
import type { Store } from "./domain/store.ts";
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
  /** Replay jobs' batches (not started: the server starts it, tests drive runOnce). */
  replays: ReplayRunner;
  /** Closes idle outbound connections; after the dispatcher has stopped. */
  closeOutbound(): void;
}

/**
 * Wires the dispatcher and the API's dependencies around an open store (db/open-store.ts: the
 * store is opened, migrated and its secrets checked there, and closed by whoever opened it).
 * The server and the tests build Hookline the same way; only the seams (clock, resolver, fetch)
 * differ.
 */
export function createRuntime(config: Config, store: Store, opts: RuntimeOptions): Runtime {
  const { logger } = opts;
  const clock = opts.clock ?? systemClock;
  const resolver = opts.resolver ?? systemResolver;
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
    // Shared through the database when the store is PostgreSQL (several replicas), else per process.
    limiter: rateLimiterFor(config.rate_limit.per_minute, store, { clock, logger }),
    dispatch: dispatcher,
    async readiness() {
      const database = await store.ping();
      const dispatching = dispatcher.isRunning;
      return { ready: database && dispatching, checks: { database, dispatcher: dispatching } };
    },
  };
  const replays = new ReplayRunner({ store, clock, logger, wake: () => dispatcher.wake() });
  return { deps, dispatcher, replays, closeOutbound: () => outbound.pool?.close() };
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
