import { sql } from "drizzle-orm";
import { bigint, integer, pgTable, text, uniqueIndex } from "drizzle-orm/pg-core";
import { keyText } from "./columns.ts";
import { webhooks } from "./webhooks.ts";

/**
 * Replay and backfill jobs (db/schema/replays.ts explains them). Beside SQLite's columns, a lease:
 * the replica running a job renews `lease_expires_at` (database time) with every batch, so only
 * one replica runs a job at a time, and another takes it over once the lease of one that died
 * has run out.
 */
export const replayJobs = pgTable(
  "replay_jobs",
  {
    id: keyText("id").primaryKey(),
    webhookId: keyText("webhook_id")
      .notNull()
      .references(() => webhooks.id, { onDelete: "cascade" }),
    tenantId: keyText("tenant_id").notNull(),
    since: bigint("since", { mode: "number" }).notNull(),
    until: bigint("until", { mode: "number" }).notNull(),
    eventTypes: text("event_types"),
    status: text("status", { enum: ["running", "done", "failed"] }).notNull(),
    matched: integer("matched").notNull().default(0),
    created: integer("created").notNull().default(0),
    skipped: integer("skipped").notNull().default(0),
    cursorCreatedAt: bigint("cursor_created_at", { mode: "number" }),
    cursorId: keyText("cursor_id"),
    error: text("error"),
    startedAt: bigint("started_at", { mode: "number" }).notNull(),
    finishedAt: bigint("finished_at", { mode: "number" }),
    leaseHolder: text("lease_holder"),
    leaseExpiresAt: bigint("lease_expires_at", { mode: "number" }),
  },
  (t) => [uniqueIndex("replay_jobs_running_idx").on(t.webhookId).where(sql`status = 'running'`)],
);
