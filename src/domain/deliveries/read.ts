import type { DomainDeps } from "../deps.ts";
import { NotFoundError, ValidationError } from "../errors.ts";
import { isId } from "../../lib/ids.ts";
import { type Page, type PageRequest, toPage } from "../pagination.ts";
import { canSee, type Principal } from "../principal.ts";
import { DELIVERY_STATUSES, type DeliveryRecord, type DeliveryStatus } from "../store.ts";
import { loadWebhook } from "../webhooks/read.ts";
import { type DeliveryView, renderDelivery } from "./render.ts";

const STATUSES: readonly DeliveryStatus[] = DELIVERY_STATUSES;

export async function loadDelivery(
  deps: Pick<DomainDeps, "store">,
  principal: Principal,
  id: string,
): Promise<DeliveryRecord> {
  const d = isId(id, "dlv") ? await deps.store.getDelivery(id) : undefined;
  if (!d || !canSee(principal, d.tenantId)) throw new NotFoundError("Delivery");
  return d;
}

export async function getDelivery(deps: Pick<DomainDeps, "store">, principal: Principal, id: string): Promise<DeliveryView> {
  const d = await loadDelivery(deps, principal, id);
  return renderDelivery(d, await deps.store.listAttempts(d.id));
}

export async function listWebhookDeliveries(
  deps: Pick<DomainDeps, "store">,
  principal: Principal,
  webhookId: string,
  page: PageRequest,
  status: string | undefined,
): Promise<Page<DeliveryView>> {
  if (status !== undefined && status !== "" && !STATUSES.includes(status as DeliveryStatus)) {
    throw new ValidationError([`status: must be one of ${STATUSES.join(", ")}`]);
  }
  const w = await loadWebhook(deps, principal, webhookId);
  const rows = await deps.store.listDeliveries({
    ...page,
    webhookId: w.id,
    ...(status ? { status: status as DeliveryStatus } : {}),
  });
  return toPage(rows, page.limit, (d) => renderDelivery(d));
}
