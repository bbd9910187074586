import { bigint, index, pgTable, text } from "drizzle-orm/pg-core";
import { keyText } from "./columns.ts";

/** API keys: only a SHA-256 hash is kept (the key is shown once). Times are epoch milliseconds. */
export const apiKeys = pgTable(
  "api_keys",
  {
    id: keyText("id").primaryKey(),
    /** A tenant id, or "*" for a global key. */
    tenantId: keyText("tenant_id").notNull(),
    role: text("role", { enum: ["viewer", "publisher", "admin"] }).notNull(),
    name: text("name").notNull(),
    prefix: text("prefix").notNull(),
    hash: keyText("hash").notNull().unique(),
    createdAt: bigint("created_at", { mode: "number" }).notNull(),
    revokedAt: bigint("revoked_at", { mode: "number" }),
    expiresAt: bigint("expires_at", { mode: "number" }),
    kind: text("kind", { enum: ["key", "portal"] }).notNull().default("key"),
  },
  (t) => [index("api_keys_tenant_idx").on(t.tenantId, t.id)],
);
