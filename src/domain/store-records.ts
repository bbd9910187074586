// The records the Store port (store.ts) reads and writes: plain data, the same whichever store
// holds them. Times are epoch milliseconds; ids are time-sortable strings (lib/ids.ts).
import type { PayloadFormat } from "../config/types.ts";
import type { Role } from "./principal.ts";

export interface ApiKeyRecord {
  id: string;
  tenantId: string;
  role: Role;
  name: string;
  prefix: string;
  hash: string;
  createdAt: number;
  revokedAt: number | null;
  /** Null: the key never expires. */
  expiresAt: number | null;
  /** "portal": the token of a portal link (API.md §12), which reaches only what the portal shows. */
  kind: KeyKind;
}

export const KEY_KINDS = ["key", "portal"] as const;
export type KeyKind = (typeof KEY_KINDS)[number];

export interface EventTypeRecord {
  name: string;
  description: string;
  schema: Record<string, unknown> | null;
  /** null: delivery.payload_format decides (API.md §14). */
  payloadFormat: PayloadFormat | null;
  archived: boolean;
  createdAt: number;
  updatedAt: number;
}

/** Fields a PATCH of an event type may change, already validated (null clears schema and format). */
export type EventTypeChanges = Partial<Pick<EventTypeRecord, "description" | "schema" | "payloadFormat" | "archived">>;

export interface WebhookRecord {
  id: string;
  tenantId: string;
  url: string;
  events: string[];
  description: string;
  headers: Record<string, string>;
  secret: string;
  previousSecret: string | null;
  previousSecretExpiresAt: number | null;
  enabled: boolean;
  disabledReason: string | null;
  failureCount: number;
  failingSince: number | null;
  createdAt: number;
  updatedAt: number;
}

/** Fields a PATCH may change, already validated. */
export type WebhookChanges = Partial<
  Pick<
    WebhookRecord,
    "url" | "events" | "description" | "headers" | "enabled" | "disabledReason" | "failureCount" | "failingSince"
  >
>;

export const DELIVERY_STATUSES = ["pending", "delivering", "succeeded", "failed"] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export interface EventRecord {
  id: string;
  tenantId: string;
  type: string;
  /** The exact body every receiver gets, byte-identical on every retry. */
  payload: string;
  /** How `payload` was built: the envelope of API.md §7, or the published `data` as received. */
  payloadFormat: PayloadFormat;
  idempotencyKey: string | null;
  requestHash: string | null;
  createdAt: number;
}

export interface DeliveryRecord {
  id: string;
  eventId: string;
  webhookId: string;
  tenantId: string;
  eventType: string;
  status: DeliveryStatus;
  attemptsCount: number;
  retryBase: number;
  retryStartedAt: number | null;
  nextAttemptAt: number | null;
  leaseExpiresAt: number | null;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface AttemptRecord {
  deliveryId: string;
  n: number;
  startedAt: number;
  durationMs: number;
  statusCode: number | null;
  responseBody: string | null;
  error: string | null;
}

/** Database state for /metrics, read at scrape time. */
export interface StoreGauges {
  /** Pending deliveries per age bucket (lt_1m, 1m_10m, 10m_1h, 1h_1d, gt_1d). */
  pendingByAge: Record<string, number>;
  oldestPendingCreatedAt: number | null;
  /** The earliest next_attempt_at among pending deliveries that are due. */
  oldestDueAt: number | null;
  webhooksEnabled: number;
  webhooksDisabled: number;
  /** Bytes of the database file and of its write-ahead log: a store kept in files has them, others may not. */
  databaseBytes?: number;
  walBytes?: number;
}

/** What one retention batch deleted: events, and the deliveries and attempts that went with them. */
export interface PurgedRows {
  events: number;
  deliveries: number;
  attempts: number;
}

/** GET /v1/webhooks/{id}/stats over a window. */
export interface WebhookStatsRecord {
  attempts: number;
  succeeded: number;
  /** Attempt durations (ms) at the 50th and 95th percentile; null without attempts. */
  p50Ms: number | null;
  p95Ms: number | null;
  oldestPendingCreatedAt: number | null;
  nextAttemptAt: number | null;
}

/**
 * What a store sums for a stats series (domain/stats/series.ts): the attempts of one bucket (its
 * index from 0) per class — succeeded, retried, failed (domain/stats/rollup.ts AttemptClass) —
 * and per duration bin (the roll-up's b0 … b31). Here, with the other records, so the port does
 * not import the stats rules.
 */
// A type, not an interface: the PostgreSQL client types its rows as records.
export type SeriesCell = {
  succeeded: number;
  retried: number;
  failed: number;
  index: number;
  bins: number[];
};
