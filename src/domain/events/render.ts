import { toIso } from "../clock.ts";
import type { DeliveryRecord, EventRecord } from "../store.ts";
import { type DeliveryView, renderDelivery } from "../deliveries/render.ts";

export interface EventView {
  id: string;
  type: string;
  tenant_id: string;
  idempotency_key: string | null;
  /** null once the payload was pruned (retention.payload_days). */
  data: unknown;
  payload_pruned: boolean;
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
    data: e.payload === PRUNED ? null : (JSON.parse(e.payload) as { data: unknown }).data,
    payload_pruned: e.payload === PRUNED,
    created_at: toIso(e.createdAt),
  };
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
