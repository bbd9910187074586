import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { BIN_COLUMNS } from "../../domain/stats/rollup.ts";
import { webhooks } from "./webhooks.ts";

/** b0 … b31: the attempts whose duration is in each bin (domain/stats/rollup.ts). */
const binCounters = () => Object.fromEntries(BIN_COLUMNS.map((c) => [c, integer(c).notNull().default(0)]));

/**
 * The delivery stats roll-up (domain/stats/rollup.ts): one row per webhook and minute, with how
 * many attempts succeeded, were retried or failed and how many fell in each duration bin. Written
 * with the outcomes, in their transaction; read by GET /v1/stats/deliveries, which sums columns —
 * at most 1,440 rows per webhook and day, however many attempts. It goes with its webhook, and
 * with retention (retention.days).
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
    succeeded: integer("succeeded").notNull().default(0),
    retried: integer("retried").notNull().default(0),
    failed: integer("failed").notNull().default(0),
    ...binCounters(),
  },
  (t) => [
    // One webhook's series (and the upsert's conflict target).
    primaryKey({ columns: [t.webhookId, t.minute] }),
    // One tenant's series.
    index("attempt_stats_tenant_idx").on(t.tenantId, t.minute),
    // Every tenant's (a global key without ?tenant=), and retention.
    index("attempt_stats_minute_idx").on(t.minute),
  ],
);
