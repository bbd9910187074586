import { parseDuration } from "../../lib/duration.ts";
import { toIso } from "../clock.ts";
import type { DomainDeps } from "../deps.ts";
import { ValidationError } from "../errors.ts";
import type { Principal } from "../principal.ts";
import { loadWebhook } from "./read.ts";

const MAX_WINDOW_MS = 90 * 86_400_000;

export interface WebhookStatsView {
  webhook_id: string;
  window: string;
  attempts: number;
  succeeded: number;
  failed: number;
  /** Succeeded attempts / attempts in the window; null without attempts. */
  success_rate: number | null;
  latency_ms: { p50: number | null; p95: number | null };
  /** Deliveries that failed in a row (the webhook's failure_count). */
  consecutive_failures: number;
  failing_since: string | null;
  oldest_pending_at: string | null;
  next_attempt_at: string | null;
}

/** GET /v1/webhooks/{id}/stats: "is this receiver healthy?" at a glance. */
export async function webhookStats(
  deps: Pick<DomainDeps, "store" | "clock">,
  principal: Principal,
  id: string,
  windowText: string | undefined,
): Promise<WebhookStatsView> {
  const window = windowText === undefined || windowText === "" ? "24h" : windowText;
  const ms = parseDuration(window);
  if (ms === undefined || ms <= 0 || ms > MAX_WINDOW_MS) {
    throw new ValidationError(["window: must be a duration from 1s to 90d, such as '1h' or '7d'"]);
  }
  const w = await loadWebhook(deps, principal, id);
  const s = await deps.store.webhookStats(w.id, deps.clock.now() - ms);
  return {
    webhook_id: w.id,
    window,
    attempts: s.attempts,
    succeeded: s.succeeded,
    failed: s.attempts - s.succeeded,
    success_rate: s.attempts === 0 ? null : Math.round((s.succeeded / s.attempts) * 10_000) / 10_000,
    latency_ms: { p50: s.p50Ms, p95: s.p95Ms },
    consecutive_failures: w.failureCount,
    failing_since: w.failingSince === null ? null : toIso(w.failingSince),
    oldest_pending_at: s.oldestPendingCreatedAt === null ? null : toIso(s.oldestPendingCreatedAt),
    next_attempt_at: s.nextAttemptAt === null ? null : toIso(s.nextAttemptAt),
  };
}
