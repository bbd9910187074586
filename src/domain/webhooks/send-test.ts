import type { DomainDeps } from "../deps.ts";
import type { DispatchHandle } from "../dispatcher-port.ts";
import { TEST_EVENT_TYPE } from "../event-patterns.ts";
import { envelope } from "../events/render.ts";
import { newId } from "../../lib/ids.ts";
import type { Principal } from "../principal.ts";
import { loadWebhook } from "./read.ts";

/** A synthetic `webhook.test` event to this webhook only (even a disabled one), recorded as usual. */
export async function sendTestEvent(
  deps: Pick<DomainDeps, "store" | "clock">,
  dispatch: DispatchHandle,
  principal: Principal,
  webhookId: string,
): Promise<{ delivery_id: string }> {
  const w = await loadWebhook(deps, principal, webhookId);
  const now = deps.clock.now();
  const id = newId("evt", now);
  const data = { webhook_id: w.id, message: "This is a test event from Hookline." };
  const res = await deps.store.ingest({
    event: {
      id,
      tenantId: w.tenantId,
      type: TEST_EVENT_TYPE,
      payload: envelope({ id, type: TEST_EVENT_TYPE, tenantId: w.tenantId, createdAt: now }, data),
      idempotencyKey: null,
      requestHash: null,
      createdAt: now,
    },
    idempotencySince: now,
    onlyWebhookId: w.id,
    claim: dispatch.claimHook(),
  });
  const created = res.kind === "created" ? res.deliveries : [];
  const deliveryId = created[0]?.id;
  if (deliveryId === undefined) throw new Error("the test delivery was not created");
  dispatch.offer(created);
  return { delivery_id: deliveryId };
}
