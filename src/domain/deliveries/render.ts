import { toIso } from "../clock.ts";
import type { AttemptRecord, DeliveryRecord } from "../store.ts";

export interface AttemptView {
  n: number;
  started_at: string;
  duration_ms: number;
  status_code: number | null;
  response_body: string | null;
  error: string | null;
}

export interface DeliveryView {
  id: string;
  event_id: string;
  webhook_id: string;
  event_type: string;
  status: DeliveryRecord["status"];
  attempts_count: number;
  next_attempt_at: string | null;
  last_status_code: number | null;
  last_error: string | null;
  created_at: string;
  updated_at: string;
  attempts?: AttemptView[];
}

export function renderAttempt(a: AttemptRecord): AttemptView {
  return {
    n: a.n,
    started_at: toIso(a.startedAt),
    duration_ms: a.durationMs,
    status_code: a.statusCode,
    response_body: a.responseBody,
    error: a.error,
  };
}

export function renderDelivery(d: DeliveryRecord, attempts?: AttemptRecord[]): DeliveryView {
  return {
    id: d.id,
    event_id: d.eventId,
    webhook_id: d.webhookId,
    event_type: d.eventType,
    status: d.status,
    attempts_count: d.attemptsCount,
    // Only a pending delivery has a next attempt (API.md §10).
    next_attempt_at: d.status === "pending" && d.nextAttemptAt !== null ? toIso(d.nextAttemptAt) : null,
    last_status_code: d.lastStatusCode,
    last_error: d.lastError,
    created_at: toIso(d.createdAt),
    updated_at: toIso(d.updatedAt),
    ...(attempts ? { attempts: attempts.map(renderAttempt) } : {}),
  };
}
