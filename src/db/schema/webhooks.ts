// Times are epoch milliseconds in plain integer columns: no Date objects on hot paths.
import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

export const webhooks = sqliteTable(
  "webhooks",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    /** The normalised URL (WHATWG href): duplicates are compared on it. */
    url: text("url").notNull(),
    events: text("events", { mode: "json" }).$type<string[]>().notNull(),
    description: text("description").notNull().default(""),
    headers: text("headers", { mode: "json" }).$type<Record<string, string>>().notNull(),
    secret: text("secret").notNull(),
    /** Kept during a rotation so deliveries carry both signatures until it expires. */
    previousSecret: text("previous_secret"),
    previousSecretExpiresAt: integer("previous_secret_expires_at"),
    enabled: integer("enabled", { mode: "boolean" }).notNull().default(true),
    disabledReason: text("disabled_reason"),
    failureCount: integer("failure_count").notNull().default(0),
    /** Start of the current run of failed deliveries; drives `delivery.disable_after`. */
    failingSince: integer("failing_since"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("webhooks_tenant_url_idx").on(t.tenantId, t.url),
    // Lists are keyset-paginated on the time-sortable id, per tenant.
    index("webhooks_tenant_id_idx").on(t.tenantId, t.id),
  ],
);
