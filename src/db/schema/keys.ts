import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

/** API keys. Only a SHA-256 hash of the key is kept: the key itself is shown once at creation. */
export const apiKeys = sqliteTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    /** A tenant id, or "*" for a global key. */
    tenantId: text("tenant_id").notNull(),
    role: text("role", { enum: ["viewer", "publisher", "admin"] }).notNull(),
    name: text("name").notNull(),
    /** The first characters of the key, so an admin can tell keys apart in a list. */
    prefix: text("prefix").notNull(),
    hash: text("hash").notNull().unique(),
    createdAt: integer("created_at").notNull(),
    revokedAt: integer("revoked_at"),
    /** Milliseconds since the epoch; null for a key that never expires. */
    expiresAt: integer("expires_at"),
    /** "portal": a portal link's token (API.md §12), which reaches only what the portal shows. */
    kind: text("kind", { enum: ["key", "portal"] }).notNull().default("key"),
  },
  (t) => [index("api_keys_tenant_idx").on(t.tenantId, t.id)],
);
