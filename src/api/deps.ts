import type { DomainDeps } from "../domain/deps.ts";
import type { Logger } from "../observability/logger.ts";
import type { Metrics } from "../observability/metrics.ts";
import type { RequestLimiter } from "./rate-limit.ts";

export interface Readiness {
  ready: boolean;
  checks: Record<string, boolean>;
}

export interface ApiDeps extends DomainDeps {
  logger: Logger;
  version: string;
  limiter: RequestLimiter;
  metrics: Metrics;
  readiness(): Promise<Readiness>;
}
