// The storage seam (DESIGN.md "Storage seam"). Domain and delivery code talk only to this
// interface; every method is async and does its own transaction, so a PostgreSQL store for
// several replicas can be added beside the SQLite one without touching the callers.
import type { PageRequest } from "./pagination.ts";
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
}

export interface EventTypeRecord {
  name: string;
  description: string;
  schema: Record<string, unknown> | null;
  archived: boolean;
  createdAt: number;
  updatedAt: number;
}

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

export interface WebhookFilter extends PageRequest {
  tenantId?: string;
  enabled?: boolean;
  /** Only webhooks whose patterns match this event type. */
  eventType?: string;
}

export interface KeyFilter extends PageRequest {
  tenantId?: string;
}

export type WriteResult = { ok: true } | { ok: false; reason: "duplicate" };

export const DELIVERY_STATUSES = ["pending", "delivering", "succeeded", "failed"] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export interface EventRecord {
  id: string;
  tenantId: string;
  type: string;
  /** The exact body every receiver gets, byte-identical on every retry. */
  payload: string;
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

/** A delivery just created by a fan-out, as handed to the dispatcher after the commit. */
export interface NewDelivery {
  id: string;
  webhookId: string;
  /** Set when the ingest claimed it for this process: ready to send, nothing to read back. */
  claimed?: ClaimedDelivery;
  /**
   * Otherwise, what sending it needs as of the ingest, with the webhook's updated_at: a later
   * claim by id uses it when the webhook has not changed since, and reads the row when it has.
   */
  prepared?: { delivery: ClaimedDelivery; webhookUpdatedAt: number };
}

/**
 * Lets an ingest claim its new deliveries for this process in its own transaction (status
 * delivering, under a lease), so the dispatcher sends them without another write or read.
 */
export interface IngestClaim {
  leaseMs: number;
  /** Whether this process has a free slot for the webhook; true reserves it. */
  take(webhookId: string): boolean;
  /** The transaction that took the slot rolled back. */
  giveBack(webhookId: string): void;
}

export interface IngestRequest {
  event: EventRecord;
  /** An event with the same idempotency key created before this time no longer counts. */
  idempotencySince: number;
  /** The test endpoint: one delivery to this webhook only, enabled or not. */
  onlyWebhookId?: string;
  claim?: IngestClaim | undefined;
}

export type IngestResult =
  | { kind: "created"; event: EventRecord; deliveries: NewDelivery[] }
  | { kind: "replay"; event: EventRecord; deliveries: number }
  | { kind: "conflict"; event: EventRecord };

/** A claimed delivery with everything needed to send it, read in the claiming transaction. */
export interface ClaimedDelivery
  extends Pick<
      DeliveryRecord,
      | "id"
      | "eventId"
      | "webhookId"
      | "tenantId"
      | "eventType"
      | "status"
      | "attemptsCount"
      | "retryBase"
      | "retryStartedAt"
      | "createdAt"
    >,
    Pick<WebhookRecord, "url" | "headers" | "secret" | "previousSecret" | "previousSecretExpiresAt"> {
  /** The event's envelope, sent as is. */
  payload: string;
}

export interface ClaimOptions {
  limit: number;
  leaseMs: number;
  perWebhookCap: number;
  /** Attempts in flight per webhook in this process, so the cap holds across claims. */
  inflight: ReadonlyMap<string, number>;
}

export type AttemptResult = "succeeded" | "retry" | "failed" | "gone";

export interface AttemptOutcome {
  deliveryId: string;
  webhookId: string;
  attempt: Omit<AttemptRecord, "deliveryId" | "n">;
  /** A manual retry changes the state only when it succeeds. */
  manual: boolean;
  result: AttemptResult;
  nextAttemptAt: number | null;
  retryStartedAt: number;
}

export interface DeliveryFilter extends PageRequest {
  webhookId: string;
  status?: DeliveryStatus;
}

export interface EventFilter extends PageRequest {
  tenantId?: string;
  type?: string;
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
  databaseBytes: number;
  walBytes: number;
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

export interface Store {
  insertKey(key: ApiKeyRecord): Promise<void>;
  findKeyByHash(hash: string): Promise<ApiKeyRecord | undefined>;
  getKey(id: string): Promise<ApiKeyRecord | undefined>;
  /** Active (not revoked) keys, newest first, limit + 1 rows. */
  listKeys(filter: KeyFilter): Promise<ApiKeyRecord[]>;
  revokeKey(id: string, at: number): Promise<boolean>;
  countActiveKeys(): Promise<number>;

  listEventTypes(): Promise<EventTypeRecord[]>;
  getEventType(name: string): Promise<EventTypeRecord | undefined>;
  insertEventType(record: EventTypeRecord): Promise<WriteResult>;
  updateEventType(
    name: string,
    changes: Partial<Pick<EventTypeRecord, "description" | "schema" | "archived">>,
    at: number,
  ): Promise<EventTypeRecord | undefined>;
  /** Declared in the config file: created, or their description and schema brought up to date. */
  upsertEventTypes(records: EventTypeRecord[]): Promise<void>;

  insertWebhook(record: WebhookRecord): Promise<WriteResult>;
  /** Webhooks of the tenant, enabled or not (for security.max_webhooks_per_tenant). */
  countWebhooks(tenantId: string): Promise<number>;
  getWebhook(id: string): Promise<WebhookRecord | undefined>;
  /** Newest first, limit + 1 rows. */
  listWebhooks(filter: WebhookFilter): Promise<WebhookRecord[]>;
  /**
   * Applies the changes. Disabling fails the webhook's pending deliveries with `failReason`,
   * in the same transaction, so none of them is sent after the 200.
   */
  updateWebhook(
    id: string,
    changes: WebhookChanges,
    at: number,
    failReason?: string,
  ): Promise<WebhookRecord | "duplicate" | undefined>;
  /** Removes the webhook with its deliveries and attempts. */
  deleteWebhook(id: string): Promise<boolean>;

  /** Commits the event and its fan-out deliveries together (group-committed with others). */
  ingest(request: IngestRequest): Promise<IngestResult>;
  getEvent(id: string): Promise<EventRecord | undefined>;
  listEvents(filter: EventFilter): Promise<EventRecord[]>;
  listEventDeliveries(eventId: string): Promise<DeliveryRecord[]>;

  getDelivery(id: string): Promise<DeliveryRecord | undefined>;
  listDeliveries(filter: DeliveryFilter): Promise<DeliveryRecord[]>;
  listAttempts(deliveryId: string): Promise<AttemptRecord[]>;
  /** The delivery with its event and webhook, for a manual attempt (no claim). */
  loadForSend(deliveryId: string): Promise<ClaimedDelivery | undefined>;
  /** Failed deliveries of the webhook created at or after `since` become pending, schedule restarted. */
  requeueFailed(webhookId: string, since: number, now: number): Promise<number>;
  rotateSecret(webhookId: string, secret: string, previousExpiresAt: number, now: number): Promise<void>;

  /** Moves due pending deliveries to delivering under a lease, respecting the per-webhook cap. */
  claimDue(now: number, opts: ClaimOptions): Promise<ClaimedDelivery[]>;
  /** Records attempts and next states in one transaction; returns webhooks it disabled. */
  recordOutcomes(outcomes: AttemptOutcome[], now: number, disableAfterMs: number): Promise<string[]>;
  /** Claims these deliveries if still pending (the in-memory hand-off after an ingest). */
  claimByIds(deliveries: NewDelivery[], now: number, leaseMs: number): Promise<ClaimedDelivery[]>;
  /** Gives claims back (shutdown): pending again, due now. */
  releaseClaims(deliveryIds: string[], now: number): Promise<void>;
  /** Expired leases (a crashed or stopped process) back to pending. */
  recoverExpiredLeases(now: number): Promise<number>;
  nextDueAt(): Promise<number | undefined>;
  disableFailingWebhooks(failingSinceBefore: number, now: number): Promise<string[]>;
  /** Deletes up to `limit` events created before `before` whose deliveries are all finished. */
  purgeFinished(before: number, limit: number): Promise<number>;
  clearIdempotencyKeys(before: number, limit: number): Promise<number>;
  /** Drops the payload of up to `limit` events created before `before` whose deliveries are all finished. */
  prunePayloads(before: number, limit: number): Promise<number>;
  /** Gives up to `maxPages` free pages back to the file system; how many it freed. */
  reclaimSpace(maxPages: number): Promise<number>;

  gauges(now: number): Promise<StoreGauges>;
  webhookStats(webhookId: string, since: number): Promise<WebhookStatsRecord>;

  /** True when the database answers and accepts writes. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
