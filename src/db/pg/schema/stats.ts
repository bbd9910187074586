import { bigint, index, integer, pgTable, primaryKey } from "drizzle-orm/pg-core";
import { BIN_COLUMNS } from "../../../domain/stats/rollup.ts";
import { keyText } from "./columns.ts";
import { webhooks } from "./webhooks.ts";

const binCounters = () => Object.fromEntries(BIN_COLUMNS.map((c) => [c, integer(c).notNull().default(0)]));

/** The delivery stats roll-up, as SQLite's (db/schema/stats.ts explains it). */
export const attemptStats = pgTable(
  "attempt_stats",
  {
    webhookId: keyText("webhook_id")
      .notNull()
      .references(() => webhooks.id, { onDelete: "cascade" }),
    tenantId: keyText("tenant_id").notNull(),
    minute: bigint("minute", { mode: "number" }).notNull(),
    succeeded: integer("succeeded").notNull().default(0),
    retried: integer("retried").notNull().default(0),
    failed: integer("failed").notNull().default(0),
    ...binCounters(),
  },
  (t) => [
    primaryKey({ columns: [t.webhookId, t.minute] }),
    index("attempt_stats_tenant_idx").on(t.tenantId, t.minute),
    index("attempt_stats_minute_idx").on(t.minute),
  ],
);
