import { sql } from "drizzle-orm";
import { integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { webhooks } from "./webhooks.ts";

/**
 * Replay and backfill jobs (API.md §14): the window, what the webhook's subscription is narrowed
 * to, and the progress — the cursor is the last event done, in the order the batches walk the
 * tenant's events (their time-sortable id), so a restart goes on from there. A batch advances it
 * in the transaction that inserts its deliveries. Goes with its webhook.
 */
export const replayJobs = sqliteTable(
  "replay_jobs",
  {
    id: text("id").primaryKey(),
    webhookId: text("webhook_id")
      .notNull()
      .references(() => webhooks.id, { onDelete: "cascade" }),
    tenantId: text("tenant_id").notNull(),
    since: integer("since").notNull(),
    until: integer("until").notNull(),
    /** JSON array narrowing the webhook's patterns; null: the subscription as it is. */
    eventTypes: text("event_types"),
    status: text("status", { enum: ["running", "done", "failed"] }).notNull(),
    matched: integer("matched").notNull().default(0),
    created: integer("created").notNull().default(0),
    skipped: integer("skipped").notNull().default(0),
    cursorCreatedAt: integer("cursor_created_at"),
    cursorId: text("cursor_id"),
    error: text("error"),
    startedAt: integer("started_at").notNull(),
    finishedAt: integer("finished_at"),
  },
  // At most one running job per webhook, held by the database whoever inserts (409 otherwise).
  (t) => [uniqueIndex("replay_jobs_running_idx").on(t.webhookId).where(sql`status = 'running'`)],
);
