import { bigint, doublePrecision, pgTable, text } from "drizzle-orm/pg-core";
import { keyText } from "./columns.ts";

/**
 * Leases that one replica at a time holds (housekeeping: retention, idempotency expiry,
 * disable_after). Taken and renewed with a conditional UPDATE in database time, so neither
 * advisory locks nor replica clocks are needed.
 */
export const leader = pgTable("leader", {
  name: keyText("name").primaryKey(),
  holder: text("holder").notNull(),
  expiresAt: bigint("expires_at", { mode: "number" }).notNull(),
});

/** Token buckets per credential shared by all replicas (rate_limit.per_minute). */
export const rateBuckets = pgTable("rate_buckets", {
  key: keyText("key").primaryKey(),
  tokens: doublePrecision("tokens").notNull(),
  refilledAt: bigint("refilled_at", { mode: "number" }).notNull(),
});

/** One row (id 1), rewritten by every readiness probe: a commit is the proof of writability. */
export const readinessProbe = pgTable("readiness_probe", {
  id: bigint("id", { mode: "number" }).primaryKey(),
  probedAt: bigint("probed_at", { mode: "number" }).notNull(),
});
