import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { webhooks } from "./webhooks.ts";

/**
 * The delivery stats roll-up (domain/stats/rollup.ts): per webhook, minute and duration bin, how
 * many attempts succeeded, were retried or failed. Written with the outcomes, in their
 * transaction; read by GET /v1/stats/deliveries, which over a day of a million attempts then sums
 * a few thousand rows. It goes with its webhook, and with retention (retention.days).
 */
export const attemptStats = sqliteTable(
  "attempt_stats",
  {
    webhookId: text("webhook_id")
      .notNull()
      .references(() => webhooks.id, { onDelete: "cascade" }),
    tenantId: text("tenant_id").notNull(),
    /** The minute's start, epoch ms. */
    minute: integer("minute").notNull(),
    bin: integer("bin").notNull(),
    succeeded: integer("succeeded").notNull().default(0),
    retried: integer("retried").notNull().default(0),
    failed: integer("failed").notNull().default(0),
  },
  (t) => [
    // One webhook's series (and the upsert's conflict target).
    primaryKey({ columns: [t.webhookId, t.minute, t.bin] }),
    // One tenant's series.
    index("attempt_stats_tenant_idx").on(t.tenantId, t.minute),
    // Every tenant's (a global key without ?tenant=), and retention.
    index("attempt_stats_minute_idx").on(t.minute),
  ],
);
