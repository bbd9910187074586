import type { Database } from "bun:sqlite";
import type { ApiDeps } from "./api/deps.ts";
import { RateLimiter } from "./api/rate-limit.ts";
import type { Config } from "./config/types.ts";
import { checkStoredSecrets, type StoredSecrets } from "./db/secrets-migration.ts";
import { createSqliteStore } from "./db/sqlite-store.ts";
import { Dispatcher } from "./delivery/dispatcher.ts";
import { policyFromConfig } from "./delivery/retry-policy.ts";
import { createSender, type FetchLike } from "./delivery/sender.ts";
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
  random?: () => number;
}

export interface Runtime {
  deps: ApiDeps;
  dispatcher: Dispatcher;
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
  const store = createSqliteStore(sqlite, { secrets });
  // The dispatcher is created below; the metrics ask it for in-flight counts only at scrape time.
  let inFlight = () => 0;
  const metrics = new Metrics({ gauges: (now) => store.gauges(now), inFlight: () => inFlight(), now: () => clock.now() });
  const dispatcher = new Dispatcher({
    metrics,
    store,
    clock,
    config,
    logger,
    resolver,
    send: createSender(opts.fetch),
    policy: policyFromConfig(config.delivery),
    version: VERSION,
    random: opts.random ?? Math.random,
  });
  inFlight = () => dispatcher.inFlight;
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
  return { deps, dispatcher, secretsAtRest: { ...stored, keyConfigured: secrets.enabled } };
}

/**
 * Our parser answers 413 with the JSON envelope (without reading a body whose declared length
 * is too large); Bun's own, bare 413 is only a backstop for absurd sizes.
 */
export function maxRequestBodySize(config: Config): number {
  return Math.max(config.server.max_body_bytes * 4, 8 * 1024 * 1024);
}
