// GET /v1/stats/deliveries (API.md §12): the console's charts, from the stats roll-up.
import type { DomainDeps } from "../deps.ts";
import { NotFoundError } from "../errors.ts";
import type { Principal } from "../principal.ts";
import { tenantForRead } from "../principal.ts";
import { loadWebhook } from "../webhooks/read.ts";
import { buildSeries, planSeries, type SeriesBucket } from "./series.ts";

export interface DeliveryStatsQuery {
  window?: string;
  bucket?: string;
  webhook_id?: string;
  tenant?: string;
}

/**
 * Scoped like every read: a tenant credential sees its tenant; a global one every tenant, or one
 * by ?tenant=. A webhook_id narrows it to that webhook, which must be visible (another tenant's,
 * or one outside ?tenant=, is not found).
 */
export async function deliveryStats(
  deps: Pick<DomainDeps, "store" | "clock">,
  principal: Principal,
  query: DeliveryStatsQuery,
): Promise<{ buckets: SeriesBucket[] }> {
  const plan = planSeries(query.window, query.bucket, deps.clock.now());
  const tenantId = tenantForRead(principal, query.tenant);
  let webhookId: string | undefined;
  if (query.webhook_id !== undefined && query.webhook_id !== "") {
    const w = await loadWebhook(deps, principal, query.webhook_id);
    if (tenantId !== undefined && w.tenantId !== tenantId) throw new NotFoundError("Webhook");
    webhookId = w.id;
  }
  const cells = await deps.store.deliverySeries({
    from: plan.from,
    until: plan.until,
    bucketMs: plan.bucketMs,
    ...(webhookId !== undefined ? { webhookId } : tenantId !== undefined ? { tenantId } : {}),
  });
  return { buckets: buildSeries(plan, cells) };
}
