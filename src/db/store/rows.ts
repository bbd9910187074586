// Raw rows of the hot-path queries (prepared bun:sqlite statements, no ORM mapping) and their
// conversion to the domain records.
import type { PayloadFormat } from "../../domain/payload-format.ts";
import type { SecretBox } from "../../domain/secret-box.ts";
import { openHeaders } from "../../domain/webhooks/secret-headers.ts";
import type { AttemptRecord, ClaimedDelivery, DeliveryRecord, DeliveryStatus, EventRecord } from "../../domain/store.ts";

export interface EventRow {
  id: string;
  tenant_id: string;
  type: string;
  payload: string;
  payload_format: PayloadFormat;
  idempotency_key: string | null;
  request_hash: string | null;
  created_at: number;
}

export function toEvent(r: EventRow): EventRecord {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    type: r.type,
    payload: r.payload,
    payloadFormat: r.payload_format,
    idempotencyKey: r.idempotency_key,
    requestHash: r.request_hash,
    createdAt: r.created_at,
  };
}

export interface DeliveryRow {
  id: string;
  event_id: string;
  webhook_id: string;
  tenant_id: string;
  event_type: string;
  status: DeliveryStatus;
  attempts_count: number;
  retry_base: number;
  retry_started_at: number | null;
  next_attempt_at: number | null;
  lease_expires_at: number | null;
  last_status_code: number | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
}

export function toDelivery(r: DeliveryRow): DeliveryRecord {
  return {
    id: r.id,
    eventId: r.event_id,
    webhookId: r.webhook_id,
    tenantId: r.tenant_id,
    eventType: r.event_type,
    status: r.status,
    attemptsCount: r.attempts_count,
    retryBase: r.retry_base,
    retryStartedAt: r.retry_started_at,
    nextAttemptAt: r.next_attempt_at,
    leaseExpiresAt: r.lease_expires_at,
    lastStatusCode: r.last_status_code,
    lastError: r.last_error,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export interface AttemptRow {
  delivery_id: string;
  n: number;
  started_at: number;
  duration_ms: number;
  status_code: number | null;
  response_body: string | null;
  error: string | null;
}

export function toAttempt(r: AttemptRow): AttemptRecord {
  return {
    deliveryId: r.delivery_id,
    n: r.n,
    startedAt: r.started_at,
    durationMs: r.duration_ms,
    statusCode: r.status_code,
    responseBody: r.response_body,
    error: r.error,
  };
}

/** Columns of a delivery joined with its event and webhook: all a send needs. */
export const SEND_COLUMNS = `d.id, d.event_id, d.webhook_id, d.tenant_id, d.event_type, d.status, d.attempts_count,
  d.retry_base, d.retry_started_at, d.created_at, e.payload, w.url, w.headers, w.secret,
  w.previous_secret, w.previous_secret_expires_at`;

export const SEND_JOIN = "deliveries d JOIN events e ON e.id = d.event_id JOIN webhooks w ON w.id = d.webhook_id";

export interface SendRow
  extends Pick<
    DeliveryRow,
    | "id"
    | "event_id"
    | "webhook_id"
    | "tenant_id"
    | "event_type"
    | "status"
    | "attempts_count"
    | "retry_base"
    | "retry_started_at"
    | "created_at"
  > {
  payload: string;
  url: string;
  headers: string;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: number | null;
}

/** The plaintext custom headers of a webhooks.headers column: what a delivery sends. */
export function parseHeaders(json: string, secrets: SecretBox): Record<string, string> {
  return openHeaders(JSON.parse(json) as Record<string, string>, secrets);
}

/**
 * `secrets` decrypts the webhook's secrets and secret header values (stored encrypted when
 * security.encryption_key is set).
 */
export function toClaimed(r: SendRow, secrets: SecretBox): ClaimedDelivery {
  return {
    id: r.id,
    eventId: r.event_id,
    webhookId: r.webhook_id,
    tenantId: r.tenant_id,
    eventType: r.event_type,
    status: r.status,
    attemptsCount: r.attempts_count,
    retryBase: r.retry_base,
    retryStartedAt: r.retry_started_at,
    createdAt: r.created_at,
    payload: r.payload,
    url: r.url,
    headers: parseHeaders(r.headers, secrets),
    secret: secrets.decrypt(r.secret),
    previousSecret: r.previous_secret === null ? null : secrets.decrypt(r.previous_secret),
    previousSecretExpiresAt: r.previous_secret_expires_at,
  };
}

/**
 * `updated_at` of a changed webhook row (`at` is a placeholder such as `?2`): never the value it
 * had, even for two changes in one millisecond, because an ingest or claim planned on the old row
 * compares it before writing (ingest.ts, claims.ts).
 */
export function webhookTouched(at: string): string {
  return `updated_at = max(${at}, updated_at + 1)`;
}
