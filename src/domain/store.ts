// The storage seam (DESIGN.md "Storage seam"). Domain and delivery code talk only to this
// interface; every method is async and does its own transaction, so a PostgreSQL store for
// several replicas can be added beside the SQLite one without touching the callers. What only
// one kind of store can do is an optional method (`reclaimSpace`, `holdLease`): callers check
// for it.
import type { PageRequest } from "./pagination.ts";
import type {
  ApiKeyRecord,
  AttemptRecord,
  DeliveryRecord,
  DeliveryStatus,
  EventRecord,
  EventTypeRecord,
  PurgedRows,
  SeriesCell,
  StoreGauges,
  WebhookChanges,
  WebhookRecord,
  WebhookStatsRecord,
} from "./store-records.ts";

export * from "./store-records.ts";

export interface RateTokenChange {
  key: string;
  /** > 0: take up to this many whole tokens; < 0: give this many back. */
  count: number;
}

export interface RateTokenBalance {
  key: string;
  /** Whole tokens taken (0 when the bucket had none); for a give-back, its (negative) count. */
  granted: number;
  /** What the shared bucket holds after the change. */
  tokens: number;
}

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

/** A limit the insert checks in its own transaction, so concurrent writers cannot overshoot it. */
export interface WebhookQuota {
  /** Webhooks a tenant may have, enabled or not (security.max_webhooks_per_tenant). */
  maxPerTenant: number;
}

/** "quota": the tenant already has `count` webhooks, at least `maxPerTenant`; nothing was written. */
export type WebhookInsertResult = WriteResult | { ok: false; reason: "quota"; count: number };

/** A delivery just created by a fan-out, as handed to the dispatcher after the commit. */
export interface NewDelivery {
  id: string;
  webhookId: string;
  /**
   * Set when the ingest claimed it for this process (status delivering, under a lease); unset,
   * it is pending in the database (this process had no room for it) and a claim finds it there.
   */
  claim?: IngestClaimed;
}

/** A delivery the ingest claimed, with what sending it needs as of that transaction. */
export interface IngestClaimed {
  /**
   * "send": a slot was reserved, send it now. "hold": only room in the dispatcher's hand-off;
   * it waits there for a slot, and `confirmHeld` checks it is still ours and still current.
   */
  as: IngestTake;
  delivery: ClaimedDelivery;
  leaseExpiresAt: number;
  /** The webhook's updated_at as the ingest read it. */
  webhookUpdatedAt: number;
  /** The store's count of webhook changes seen by this process when the ingest read it. */
  webhookGeneration: number;
}

export type IngestTake = "send" | "hold";

/**
 * Lets an ingest claim its new deliveries for this process in its own transaction (status
 * delivering, under a lease), so the dispatcher sends them without another write or read.
 */
export interface IngestClaim {
  leaseMs: number;
  /**
   * Reserves room for a delivery of the webhook whose payload is `payloadLength` characters: a
   * free slot ("send"), else a place in the hand-off ("hold"); undefined when neither (the
   * delivery stays pending in the database).
   */
  take(webhookId: string, payloadLength: number): IngestTake | undefined;
  /** The transaction that took it rolled back. */
  giveBack(webhookId: string, taken: IngestTake, payloadLength: number): void;
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
  /**
   * The fencing token of the claim that took it (a store for several replicas sets it): its
   * outcome is written only while the delivery still carries it. Unset for a manual send.
   */
  claimToken?: string;
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
  /**
   * The claim's fencing token (ClaimedDelivery.claimToken), when the store gave one: the outcome
   * is dropped if the delivery no longer carries it (the lease ran out and another claim took it).
   */
  claimToken?: string;
}

export interface DeliveryFilter extends PageRequest {
  webhookId: string;
  status?: DeliveryStatus;
}

export interface EventFilter extends PageRequest {
  tenantId?: string;
  type?: string;
}

/** GET /v1/stats/deliveries: one webhook's roll-up (webhookId), one tenant's, or every tenant's. */
export interface SeriesFilter {
  tenantId?: string;
  webhookId?: string;
  /** Minutes in [from, until) count; each cell's index is (minute - from) / bucketMs, rounded down. */
  from: number;
  until: number;
  bucketMs: number;
}

export type ReplayStatus = "running" | "done" | "failed";

/** A replay/backfill job (API.md §14); the cursor is the last event done, in (id) order of the tenant's events. */
export interface ReplayJobRecord {
  id: string;
  webhookId: string;
  tenantId: string;
  /** The window, both ends included (created_at of the events). */
  since: number;
  until: number;
  /** Narrows the webhook's patterns; null: its subscription as it is. */
  eventTypes: string[] | null;
  status: ReplayStatus;
  matched: number;
  created: number;
  skipped: number;
  cursorCreatedAt: number | null;
  cursorId: string | null;
  error: string | null;
  startedAt: number;
  finishedAt: number | null;
}

export type ReplayInsertResult = { ok: true } | { ok: false; reason: "running"; runningId: string };

export interface ReplayBatchOptions {
  /** Events read (matched or not) per batch at most. */
  limit: number;
  /**
   * No batch while the webhook has this many due pending deliveries or more: the replay waits for
   * the dispatcher instead of piling up a backlog that fresh deliveries would queue behind.
   */
  maxDue: number;
  /** A store shared by several processes leases the job to the one running it for this long. */
  leaseMs: number;
}

/**
 * What one batch did: "progressed" (deliveries inserted and the cursor advanced, in one
 * transaction; `finished` when the window is done), "paced" (the webhook's backlog is at maxDue:
 * nothing done), "failed" (the webhook is disabled: the job failed), "gone" (not running, or
 * another process holds its lease).
 */
export type ReplayBatchResult =
  | { kind: "progressed"; read: number; matched: number; created: number; skipped: number; finished: boolean }
  | { kind: "paced" }
  | { kind: "failed" }
  | { kind: "gone" };

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
    changes: Partial<Pick<EventTypeRecord, "description" | "schema" | "payloadFormat" | "archived">>,
    at: number,
  ): Promise<EventTypeRecord | undefined>;
  /**
   * Declared in the config file: created, or their description, schema and payload format
   * brought up to date.
   */
  upsertEventTypes(records: EventTypeRecord[]): Promise<void>;

  /**
   * Inserts the webhook unless its tenant has one for the same URL ("duplicate") or, given a
   * quota, already has `maxPerTenant` of them ("quota", checked first): the count and the insert
   * are one transaction that holds against concurrent writers (other processes included).
   */
  insertWebhook(record: WebhookRecord, quota?: WebhookQuota): Promise<WebhookInsertResult>;
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
  /**
   * Confirms deliveries an ingest claimed and held for this process (the in-memory hand-off),
   * now that a slot is free: those still under the ingest's lease, whose webhook has not changed,
   * come back as prepared; the others are re-read and their lease renewed, or skipped when no
   * longer ours (gone, lease lost) or failed when their webhook was disabled meanwhile.
   */
  confirmHeld(held: NewDelivery[], now: number, leaseMs: number): Promise<ClaimedDelivery[]>;
  /** Gives claims back (shutdown): pending again, due now. */
  releaseClaims(deliveryIds: string[], now: number): Promise<void>;
  /** Gives held claims back (pending, due now), each only while still under the ingest's lease. */
  releaseHeld(held: NewDelivery[], now: number): Promise<void>;
  /** Expired leases (a crashed or stopped process) back to pending. */
  recoverExpiredLeases(now: number): Promise<number>;
  nextDueAt(): Promise<number | undefined>;
  disableFailingWebhooks(failingSinceBefore: number, now: number): Promise<string[]>;
  /**
   * Deletes up to `limit` events created before `before` whose deliveries are all finished,
   * with their deliveries and attempts; says how many of each.
   */
  purgeFinished(before: number, limit: number): Promise<PurgedRows>;
  clearIdempotencyKeys(before: number, limit: number): Promise<number>;
  /** Drops the payload of up to `limit` events created before `before` whose deliveries are all finished. */
  prunePayloads(before: number, limit: number): Promise<number>;
  /**
   * Gives up to `maxPages` free pages back to the file system; how many it freed. Only a store
   * kept in a file it can shrink has it (SQLite's incremental vacuum); the sweep skips it otherwise.
   */
  reclaimSpace?(maxPages: number): Promise<number>;
  /**
   * Takes or renews the lease `name` for this process for `ttlMs`; true while it holds it. Only a
   * store shared by several processes has it (PostgreSQL: a lease row, in database time); the
   * sweep runs its housekeeping only while it holds "housekeeping", and a store without it is
   * the only process on its database, so always the holder.
   */
  holdLease?(name: string, ttlMs: number): Promise<boolean>;
  /**
   * Token buckets shared by every process on the database (API.md §11: rate_limit.per_minute per
   * credential across replicas; burst = perMinute, refilled at perMinute per minute in the
   * database's time). Each change, keys unique, in one statement: `count` > 0 takes up to that
   * many whole tokens (fewer when the bucket has fewer), `count` < 0 gives that many back (capped
   * at a full bucket). A call without takes may also forget buckets that are full again. Only a
   * store shared by several processes has it; without it each process keeps its own buckets.
   */
  exchangeRateTokens?(perMinute: number, changes: readonly RateTokenChange[]): Promise<RateTokenBalance[]>;

  /** Inserts a running job unless its webhook has one running ("running", with that one's id). */
  insertReplay(job: ReplayJobRecord): Promise<ReplayInsertResult>;
  getReplay(id: string): Promise<ReplayJobRecord | undefined>;
  /** Running jobs this process may run now (on a shared store: not leased by another), oldest first. */
  runnableReplays(now: number, limit: number): Promise<string[]>;
  /**
   * One batch of the job: up to `limit` events of its tenant after the cursor within the window,
   * a pending delivery (due `now`) to its webhook for each one that the webhook's patterns (and
   * the job's event types) match and whose payload retention has not dropped, the cursor and
   * counts advanced — all in one transaction, so a crash duplicates nothing.
   */
  replayBatch(id: string, now: number, opts: ReplayBatchOptions): Promise<ReplayBatchResult>;

  gauges(now: number): Promise<StoreGauges>;
  webhookStats(webhookId: string, since: number): Promise<WebhookStatsRecord>;
  /**
   * The stats roll-up (domain/stats/rollup.ts) summed per bucket and duration bin, one cell per
   * pair that has attempts. recordOutcomes keeps the roll-up, with tallyAttempts over the plans
   * it applied; deleteWebhook and purgeFinished (older than `before`) remove its rows.
   */
  deliverySeries(filter: SeriesFilter): Promise<SeriesCell[]>;

  /** True when the database answers and accepts writes. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
