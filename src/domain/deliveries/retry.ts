import type { DomainDeps } from "../deps.ts";
import { ConflictError, NotFoundError } from "../errors.ts";
import type { Principal } from "../principal.ts";
import { PRUNED } from "../events/render.ts";
import { loadDelivery } from "./read.ts";

/** POST /v1/deliveries/{id}/retry: one attempt now, whatever the status (API.md §10). */
export async function retryDelivery(
  deps: Pick<DomainDeps, "store" | "dispatch">,
  principal: Principal,
  id: string,
): Promise<{ delivery_id: string }> {
  const d = await loadDelivery(deps, principal, id);
  const w = await deps.store.getWebhook(d.webhookId);
  if (!w) throw new NotFoundError("Delivery");
  if (!w.enabled) throw new ConflictError("The webhook is disabled; enable it before retrying its deliveries.");
  if (d.status === "delivering") {
    throw new ConflictError(
      "This delivery is claimed by the dispatcher: an attempt is in flight, or it waits for a free slot of its webhook. Retry it once it has an outcome.",
    );
  }
  const loaded = await deps.store.loadForSend(d.id);
  if (!loaded) throw new NotFoundError("Delivery");
  if (loaded.payload === PRUNED) {
    throw new ConflictError("The event's payload was pruned (retention.payload_days): there is nothing left to send.");
  }
  deps.dispatch.attemptNow(loaded);
  return { delivery_id: d.id };
}
