import { integer, sqliteTable } from "drizzle-orm/sqlite-core";

/**
 * One row (id 1), rewritten by every readiness probe on the writer thread: a commit that
 * succeeds is the only proof that the database can be written (writer/ops.ts, ping).
 */
export const readinessProbe = sqliteTable("readiness_probe", {
  id: integer("id").primaryKey(),
  /** Milliseconds since the epoch of the last successful probe. */
  probedAt: integer("probed_at").notNull(),
});
