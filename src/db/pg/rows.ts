// Rows of the PostgreSQL store as Bun.SQL returns them, and their conversion to the domain's
// records (domain/store-records.ts). Every module of store/ maps through here, so a record reads
// the same whichever statement fetched it. Rows are type aliases, not interfaces, so they satisfy
// the client's `query<T extends Record<string, unknown>>`. What differs from SQLite's rows
// (db/store/rows.ts): int8 columns (every time, in epoch ms) arrive as strings and go through
// num/numOrNull; int4 columns (counts, status codes, durations) and booleans arrive as numbers
// and booleans. The JSON columns (webhooks.events, webhooks.headers, event_types.schema) are JSON
// text as in SQLite. Secrets (secret, previous_secret, secret header values) are sealed with the
// SecretBox on the way in and opened on the way out, exactly as the SQLite store does: callers
// only ever see plaintext, the database only ciphertext (when security.encryption_key is set).
import type { PayloadFormat } from "../../domain/payload-format.ts";
import type { Role } from "../../domain/principal.ts";
import type { SecretBox } from "../../domain/secret-box.ts";
import type {
  ApiKeyRecord,
  AttemptRecord,
  ClaimedDelivery,
  DeliveryRecord,
  DeliveryStatus,
  EventRecord,
  EventTypeRecord,
  KeyKind,
  WebhookRecord,
} from "../../domain/store.ts";
import { openHeaders, sealHeaders } from "../../domain/webhooks/secret-headers.ts";
import { num, numOrNull } from "./client.ts";

/** An int8 column: a string from Bun.SQL (a number when a statement computed it as int4). */
type Int8 = string | number;

export type KeyRow = {
  id: string;
  tenant_id: string;
  role: Role;
  name: string;
  prefix: string;
  hash: string;
  created_at: Int8;
  revoked_at: Int8 | null;
  expires_at: Int8 | null;
  kind: KeyKind;
};

export function toKey(r: KeyRow): ApiKeyRecord {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    role: r.role,
    name: r.name,
    prefix: r.prefix,
    hash: r.hash,
    createdAt: num(r.created_at),
    revokedAt: numOrNull(r.revoked_at),
    expiresAt: numOrNull(r.expires_at),
    kind: r.kind,
  };
}

export type EventTypeRow = {
  name: string;
  description: string;
  schema: string | null;
  payload_format: PayloadFormat | null;
  archived: boolean;
  created_at: Int8;
  updated_at: Int8;
};

export function toEventType(r: EventTypeRow): EventTypeRecord {
  return {
    name: r.name,
    description: r.description,
    schema: r.schema === null ? null : (JSON.parse(r.schema) as Record<string, unknown>),
    payloadFormat: r.payload_format,
    archived: r.archived,
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
  };
}

/** event_types.schema as stored: JSON text, or null. */
export function schemaText(schema: Record<string, unknown> | null): string | null {
  return schema === null ? null : JSON.stringify(schema);
}

export type WebhookRow = {
  id: string;
  tenant_id: string;
  url: string;
  events: string;
  description: string;
  headers: string;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: Int8 | null;
  enabled: boolean;
  disabled_reason: string | null;
  failure_count: number;
  failing_since: Int8 | null;
  created_at: Int8;
  updated_at: Int8;
};

/** The webhook with its secrets and secret header values in plaintext. */
export function toWebhook(r: WebhookRow, secrets: SecretBox): WebhookRecord {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    url: r.url,
    events: JSON.parse(r.events) as string[],
    description: r.description,
    headers: parseHeaders(r.headers, secrets),
    secret: secrets.decrypt(r.secret),
    previousSecret: r.previous_secret === null ? null : secrets.decrypt(r.previous_secret),
    previousSecretExpiresAt: numOrNull(r.previous_secret_expires_at),
    enabled: r.enabled,
    disabledReason: r.disabled_reason,
    failureCount: r.failure_count,
    failingSince: numOrNull(r.failing_since),
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
  };
}

/** The columns of an INSERT of a whole webhook, in the order of `webhookValues`. */
export const WEBHOOK_INSERT_COLUMNS = `id, tenant_id, url, events, description, headers, secret, previous_secret,
  previous_secret_expires_at, enabled, disabled_reason, failure_count, failing_since, created_at, updated_at`;

/** A webhook record as the parameters of WEBHOOK_INSERT_COLUMNS ($1…$15): secrets sealed. */
export function webhookValues(w: WebhookRecord, secrets: SecretBox): unknown[] {
  return [
    w.id,
    w.tenantId,
    w.url,
    JSON.stringify(w.events),
    w.description,
    headersText(w.headers, secrets),
    secrets.encrypt(w.secret),
    w.previousSecret === null ? null : secrets.encrypt(w.previousSecret),
    w.previousSecretExpiresAt,
    w.enabled,
    w.disabledReason,
    w.failureCount,
    w.failingSince,
    w.createdAt,
    w.updatedAt,
  ];
}

/** webhooks.headers as stored: JSON text, secret values sealed. */
export function headersText(headers: Record<string, string>, secrets: SecretBox): string {
  return JSON.stringify(sealHeaders(headers, secrets));
}

/** The plaintext custom headers of a webhooks.headers column: what a delivery sends. */
export function parseHeaders(json: string, secrets: SecretBox): Record<string, string> {
  return openHeaders(JSON.parse(json) as Record<string, string>, secrets);
}

/**
 * `updated_at` of a changed webhook row (`at` is a placeholder such as `$2`): never the value it
 * had, even for two changes in one millisecond, because an ingest or claim planned on the old row
 * compares it before writing (as webhookTouched in db/store/rows.ts). `$n::bigint`: the
 * parameter's type is otherwise inferred from the other argument of greatest(), int8 anyway.
 */
export function webhookTouched(at: string): string {
  return `updated_at = greatest(${at}::bigint, updated_at + 1)`;
}

export type EventRow = {
  id: string;
  tenant_id: string;
  type: string;
  payload: string;
  payload_format: PayloadFormat;
  idempotency_key: string | null;
  request_hash: string | null;
  created_at: Int8;
};

export function toEvent(r: EventRow): EventRecord {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    type: r.type,
    payload: r.payload,
    payloadFormat: r.payload_format,
    idempotencyKey: r.idempotency_key,
    requestHash: r.request_hash,
    createdAt: num(r.created_at),
  };
}

export type DeliveryRow = {
  id: string;
  event_id: string;
  webhook_id: string;
  tenant_id: string;
  event_type: string;
  status: DeliveryStatus;
  attempts_count: number;
  retry_base: number;
  retry_started_at: Int8 | null;
  next_attempt_at: Int8 | null;
  lease_expires_at: Int8 | null;
  /** Not part of the record: the fencing token of the current claim (claims.ts, outcomes.ts). */
  claim_token?: string | null;
  last_status_code: number | null;
  last_error: string | null;
  created_at: Int8;
  updated_at: Int8;
};

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
    retryStartedAt: numOrNull(r.retry_started_at),
    nextAttemptAt: numOrNull(r.next_attempt_at),
    leaseExpiresAt: numOrNull(r.lease_expires_at),
    lastStatusCode: r.last_status_code,
    lastError: r.last_error,
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
  };
}

/** The columns of a delivery record (no claim_token), for SELECT and RETURNING lists. */
export const DELIVERY_COLUMNS = `id, event_id, webhook_id, tenant_id, event_type, status, attempts_count, retry_base,
  retry_started_at, next_attempt_at, lease_expires_at, last_status_code, last_error, created_at, updated_at`;

export type AttemptRow = {
  delivery_id: string;
  n: number;
  started_at: Int8;
  duration_ms: number;
  status_code: number | null;
  response_body: string | null;
  error: string | null;
};

export function toAttempt(r: AttemptRow): AttemptRecord {
  return {
    deliveryId: r.delivery_id,
    n: r.n,
    startedAt: num(r.started_at),
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

export type SendRow = Pick<
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
> & {
  payload: string;
  url: string;
  headers: string;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: Int8 | null;
};

/** A delivery ready to send: the webhook's secrets and secret header values decrypted. */
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
    retryStartedAt: numOrNull(r.retry_started_at),
    createdAt: num(r.created_at),
    payload: r.payload,
    url: r.url,
    headers: parseHeaders(r.headers, secrets),
    secret: secrets.decrypt(r.secret),
    previousSecret: r.previous_secret === null ? null : secrets.decrypt(r.previous_secret),
    previousSecretExpiresAt: numOrNull(r.previous_secret_expires_at),
  };
}
