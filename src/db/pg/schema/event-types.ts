import { bigint, boolean, pgTable, text } from "drizzle-orm/pg-core";
import { keyText } from "./columns.ts";

export const eventTypes = pgTable("event_types", {
  name: keyText("name").primaryKey(),
  description: text("description").notNull().default(""),
  /** JSON Schema as JSON text (as in SQLite), or null. */
  schema: text("schema"),
  /** "envelope" | "data" (API.md §14); null: delivery.payload_format decides. */
  payloadFormat: text("payload_format", { enum: ["envelope", "data"] }),
  archived: boolean("archived").notNull().default(false),
  createdAt: bigint("created_at", { mode: "number" }).notNull(),
  updatedAt: bigint("updated_at", { mode: "number" }).notNull(),
});
