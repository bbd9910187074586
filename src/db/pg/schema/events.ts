import { sql } from "drizzle-orm";
import { bigint, index, integer, pgTable, primaryKey, text, uniqueIndex } from "drizzle-orm/pg-core";
import { keyText } from "./columns.ts";
import { webhooks } from "./webhooks.ts";

/** The outbox: an event and its fan-out deliveries are committed in one transaction. */
export const events = pgTable(
  "events",
  {
    id: keyText("id").primaryKey(),
    tenantId: keyText("tenant_id").notNull(),
    type: keyText("type").notNull(),
    /** The exact body sent to receivers, byte-identical on every retry. */
    payload: text("payload").notNull(),
    /** How `payload` was built, decided at publish (db/schema/events.ts explains it). */
    payloadFormat: text("payload_format", { enum: ["envelope", "data"] }).notNull().default("envelope"),
    idempotencyKey: keyText("idempotency_key"),
    requestHash: text("request_hash"),
    createdAt: bigint("created_at", { mode: "number" }).notNull(),
  },
  (t) => [
    uniqueIndex("events_idempotency_idx").on(t.tenantId, t.idempotencyKey),
    index("events_tenant_id_idx").on(t.tenantId, t.id),
  ],
);

export const deliveries = pgTable(
  "deliveries",
  {
    id: keyText("id").primaryKey(),
    eventId: keyText("event_id")
      .notNull()
      .references(() => events.id, { onDelete: "cascade" }),
    webhookId: keyText("webhook_id")
      .notNull()
      .references(() => webhooks.id, { onDelete: "cascade" }),
    tenantId: keyText("tenant_id").notNull(),
    eventType: keyText("event_type").notNull(),
    status: text("status", { enum: ["pending", "delivering", "succeeded", "failed"] }).notNull(),
    attemptsCount: integer("attempts_count").notNull().default(0),
    retryBase: integer("retry_base").notNull().default(0),
    retryStartedAt: bigint("retry_started_at", { mode: "number" }),
    nextAttemptAt: bigint("next_attempt_at", { mode: "number" }),
    leaseExpiresAt: bigint("lease_expires_at", { mode: "number" }),
    /**
     * A fresh token per claim (a fencing token): an outcome is written only while the row still
     * carries the token of the claim that sent it, so an attempt whose lease ran out and was
     * claimed again elsewhere cannot overwrite the newer outcome.
     */
    claimToken: text("claim_token"),
    lastStatusCode: integer("last_status_code"),
    lastError: text("last_error"),
    createdAt: bigint("created_at", { mode: "number" }).notNull(),
    updatedAt: bigint("updated_at", { mode: "number" }).notNull(),
  },
  (t) => [
    // The same partial indexes as SQLite's (db/schema/events.ts explains them).
    index("deliveries_due_idx").on(t.nextAttemptAt).where(sql`status = 'pending'`),
    index("deliveries_webhook_due_idx").on(t.webhookId, t.nextAttemptAt).where(sql`status = 'pending'`),
    index("deliveries_lease_idx").on(t.leaseExpiresAt).where(sql`status = 'delivering'`),
    index("deliveries_failed_idx").on(t.webhookId, t.id).where(sql`status = 'failed'`),
    index("deliveries_webhook_idx").on(t.webhookId, t.id),
    index("deliveries_event_idx").on(t.eventId),
  ],
);

export const attempts = pgTable(
  "attempts",
  {
    deliveryId: keyText("delivery_id")
      .notNull()
      .references(() => deliveries.id, { onDelete: "cascade" }),
    n: integer("n").notNull(),
    startedAt: bigint("started_at", { mode: "number" }).notNull(),
    durationMs: integer("duration_ms").notNull(),
    statusCode: integer("status_code"),
    responseBody: text("response_body"),
    error: text("error"),
  },
  (t) => [primaryKey({ columns: [t.deliveryId, t.n] })],
);
