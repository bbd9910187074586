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

  /** True when the database answers and accepts writes. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
