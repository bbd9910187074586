import { toIso } from "../clock.ts";
import type { DeliveryRecord, EventRecord } from "../store.ts";
import { type DeliveryView, renderDelivery } from "../deliveries/render.ts";
import { dataOfBody, type PayloadFormat } from "../payload-format.ts";

export interface EventView {
  id: string;
  type: string;
  tenant_id: string;
  idempotency_key: string | null;
  /** null once the payload was pruned (retention.payload_days). */
  data: unknown;
  payload_pruned: boolean;
  /** The body its receivers got: the envelope, or `data` as published (API.md §14). */
  payload_format: PayloadFormat;
  created_at: string;
}

export interface PublishedView {
  id: string;
  type: string;
  tenant_id: string;
  created_at: string;
  /** How many deliveries the event fanned out to. */
  deliveries: number;
}

export function renderPublished(e: EventRecord, deliveries: number): PublishedView {
  return { id: e.id, type: e.type, tenant_id: e.tenantId, created_at: toIso(e.createdAt), deliveries };
}

/** What a pruned payload is stored as (retention.payload_days). */
export const PRUNED = "";

export function renderEvent(e: EventRecord): EventView {
  return {
    id: e.id,
    type: e.type,
    tenant_id: e.tenantId,
    idempotency_key: e.idempotencyKey,
    data: eventData(e),
    payload_pruned: e.payload === PRUNED,
    payload_format: e.payloadFormat,
    created_at: toIso(e.createdAt),
  };
}

/** The event's published `data`, whichever body was stored; null once pruned. */
export function eventData(e: Pick<EventRecord, "payload" | "payloadFormat">): unknown {
  return e.payload === PRUNED ? null : dataOfBody(e.payloadFormat, e.payload);
}

export function renderEventWithDeliveries(
  e: EventRecord,
  deliveries: DeliveryRecord[],
): EventView & { deliveries: DeliveryView[] } {
  return { ...renderEvent(e), deliveries: deliveries.map((d) => renderDelivery(d)) };
}

/**
 * The body every receiver gets (API.md §7), serialised once at ingest so that it is
 * byte-identical on every retry; `timestamp` is the event's creation time.
 */
export function envelope(e: { id: string; type: string; tenantId: string; createdAt: number }, data: unknown): string {
  return JSON.stringify({ id: e.id, type: e.type, timestamp: toIso(e.createdAt), tenant_id: e.tenantId, data });
}
