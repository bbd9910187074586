import { bigint, index, integer, pgTable, primaryKey } from "drizzle-orm/pg-core";
import { keyText } from "./columns.ts";
import { webhooks } from "./webhooks.ts";

/** The delivery stats roll-up, as SQLite's (db/schema/stats.ts explains it). */
export const attemptStats = pgTable(
  "attempt_stats",
  {
    webhookId: keyText("webhook_id")
      .notNull()
      .references(() => webhooks.id, { onDelete: "cascade" }),
    tenantId: keyText("tenant_id").notNull(),
    minute: bigint("minute", { mode: "number" }).notNull(),
    bin: integer("bin").notNull(),
    succeeded: integer("succeeded").notNull().default(0),
    retried: integer("retried").notNull().default(0),
    failed: integer("failed").notNull().default(0),
  },
  (t) => [
    primaryKey({ columns: [t.webhookId, t.minute, t.bin] }),
    index("attempt_stats_tenant_idx").on(t.tenantId, t.minute),
    index("attempt_stats_minute_idx").on(t.minute),
  ],
);
