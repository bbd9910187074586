import type { DomainDeps } from "../deps.ts";
import { TEST_EVENT_TYPE } from "../event-patterns.ts";
import { commitAndHandOff } from "../events/commit.ts";
import { envelope } from "../events/render.ts";
import { newId } from "../../lib/ids.ts";
import type { Principal } from "../principal.ts";
import { loadWebhook } from "./read.ts";

/** A synthetic `webhook.test` event to this webhook only (even a disabled one), recorded as usual. */
export async function sendTestEvent(
  deps: Pick<DomainDeps, "store" | "clock" | "dispatch">,
  principal: Principal,
  webhookId: string,
): Promise<{ delivery_id: string }> {
  const w = await loadWebhook(deps, principal, webhookId);
  const now = deps.clock.now();
  const id = newId("evt", now);
  const data = { webhook_id: w.id, message: "This is a test event from Hookline." };
  const res = await commitAndHandOff(
    deps,
    {
      event: {
        id,
        tenantId: w.tenantId,
        type: TEST_EVENT_TYPE,
        payload: envelope({ id, type: TEST_EVENT_TYPE, tenantId: w.tenantId, createdAt: now }, data),
        // Always an envelope, whatever delivery.payload_format says: its data is Hookline's own,
        // and only the envelope's `type` tells the receiver that this is a test.
        payloadFormat: "envelope",
        idempotencyKey: null,
        requestHash: null,
        createdAt: now,
      },
      idempotencySince: now,
      onlyWebhookId: w.id,
    },
    "test",
  );
  const deliveryId = res.kind === "created" ? res.deliveries[0]?.id : undefined;
  if (deliveryId === undefined) throw new Error("the test delivery was not created");
  return { delivery_id: deliveryId };
}
