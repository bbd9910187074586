import type { DomainDeps } from "../deps.ts";
import { ConflictError, ValidationError } from "../errors.ts";
import type { Principal } from "../principal.ts";
import { loadWebhook } from "./read.ts";

/** POST /v1/webhooks/{id}/recover: failed deliveries created since `since` are scheduled again. */
export async function recoverWebhook(
  deps: Pick<DomainDeps, "store" | "clock" | "dispatch">,
  principal: Principal,
  webhookId: string,
  input: { since?: unknown },
): Promise<{ requeued: number }> {
  const since = typeof input.since === "string" ? Date.parse(input.since) : Number.NaN;
  if (typeof input.since !== "string" || !/^\d{4}-\d\d-\d\dT/.test(input.since) || Number.isNaN(since)) {
    throw new ValidationError(["since: must be an RFC 3339 timestamp, e.g. 2026-01-31T00:00:00Z"]);
  }
  const w = await loadWebhook(deps, principal, webhookId);
  if (!w.enabled) throw new ConflictError("The webhook is disabled; enable it before recovering its deliveries.");
  const requeued = await deps.store.requeueFailed(w.id, since, deps.clock.now());
  if (requeued > 0) deps.dispatch.wake();
  return { requeued };
}
