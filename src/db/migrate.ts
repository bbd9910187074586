import type { Database } from "bun:sqlite";
import { embeddedMigrations } from "./migrations.macro.ts" with { type: "macro" };

// drizzle's bookkeeping table, kept as drizzle-kit writes it so the stock tools agree with us.
const TABLE = "__drizzle_migrations";

export interface MigrationResult {
  applied: number;
  total: number;
}

/**
 * Applies the embedded migrations that the database has not seen, all in one IMMEDIATE
 * transaction: a crash half-way leaves the previous schema, never a mix.
 */
export function applyMigrations(sqlite: Database): MigrationResult {
  const migrations = embeddedMigrations();
  sqlite.run(
    `CREATE TABLE IF NOT EXISTS ${TABLE} (id INTEGER PRIMARY KEY, hash text NOT NULL, created_at numeric)`,
  );
  let applied = 0;
  sqlite.transaction(() => {
    const last = sqlite
      .query<{ created_at: number }, []>(
        `SELECT created_at FROM ${TABLE} ORDER BY created_at DESC LIMIT 1`,
      )
      .get();
    const lastMillis = last ? Number(last.created_at) : -1;
    for (const m of migrations) {
      if (m.folderMillis <= lastMillis) continue;
      for (const stmt of m.sql) {
        if (stmt.trim() !== "") sqlite.run(stmt);
      }
      sqlite.run(`INSERT INTO ${TABLE} (hash, created_at) VALUES (?, ?)`, [m.hash, m.folderMillis]);
      applied++;
    }
  }).immediate();
  return { applied, total: migrations.length };
}
