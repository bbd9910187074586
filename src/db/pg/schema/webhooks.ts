import { bigint, boolean, index, integer, pgTable, text, uniqueIndex } from "drizzle-orm/pg-core";
import { keyText } from "./columns.ts";

export const webhooks = pgTable(
  "webhooks",
  {
    id: keyText("id").primaryKey(),
    tenantId: keyText("tenant_id").notNull(),
    /** The normalised URL (WHATWG href): duplicates are compared on it. */
    url: keyText("url").notNull(),
    /** JSON text, as in SQLite: the stores share their row mappers' expectations. */
    events: text("events").notNull(),
    description: text("description").notNull().default(""),
    /** JSON text; secret header values encrypted like the signing secret. */
    headers: text("headers").notNull(),
    secret: text("secret").notNull(),
    previousSecret: text("previous_secret"),
    previousSecretExpiresAt: bigint("previous_secret_expires_at", { mode: "number" }),
    enabled: boolean("enabled").notNull().default(true),
    disabledReason: text("disabled_reason"),
    failureCount: integer("failure_count").notNull().default(0),
    failingSince: bigint("failing_since", { mode: "number" }),
    createdAt: bigint("created_at", { mode: "number" }).notNull(),
    updatedAt: bigint("updated_at", { mode: "number" }).notNull(),
  },
  (t) => [
    uniqueIndex("webhooks_tenant_url_idx").on(t.tenantId, t.url),
    index("webhooks_tenant_id_idx").on(t.tenantId, t.id),
  ],
);
