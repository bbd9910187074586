import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

export const eventTypes = sqliteTable("event_types", {
  name: text("name").primaryKey(),
  description: text("description").notNull().default(""),
  /** JSON Schema as JSON text, or null. */
  schema: text("schema", { mode: "json" }).$type<Record<string, unknown>>(),
  /** "envelope" | "data" (API.md §14); null: delivery.payload_format decides. */
  payloadFormat: text("payload_format", { enum: ["envelope", "data"] }),
  archived: integer("archived", { mode: "boolean" }).notNull().default(false),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
});
