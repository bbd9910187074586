import type { DomainDeps } from "../domain/deps.ts";
import type { Logger } from "../observability/logger.ts";
import type { Metrics } from "../observability/metrics.ts";
import type { RateLimiter } from "./rate-limit.ts";

export interface Readiness {
  ready: boolean;
  checks: Record<string, boolean>;
}

export interface ApiDeps extends DomainDeps {
  logger: Logger;
  version: string;
  limiter: RateLimiter;
  metrics: Metrics;
  readiness(): Promise<Readiness>;
}
