// Migrations of the PostgreSQL store, embedded like SQLite's (migrations.macro.ts), applied at
// start by whichever replica gets there first. DDL is transactional in PostgreSQL: every pending
// migration runs in one transaction that holds an exclusive lock on drizzle's bookkeeping table,
// so replicas started together apply them once and the others wait, then see them applied. The
// lock is a table lock, not an advisory lock (engines without advisory locks have table locks).
import { embeddedPgMigrations } from "../migrations.macro.ts" with { type: "macro" };
import { num, type PgClient, sqlState } from "./client.ts";

const TABLE = "__drizzle_migrations";

export interface PgMigrationResult {
  applied: number;
  total: number;
}

/** The database holds migrations this binary does not know: an older binary on a newer schema. */
export class SchemaTooNewError extends Error {
  constructor(
    readonly databaseVersion: number,
    readonly binaryVersion: number,
  ) {
    super(
      `the database schema is at migration ${databaseVersion}, newer than this binary's ${binaryVersion}: run the Hookline version that migrated it (or newer)`,
    );
    this.name = "SchemaTooNewError";
  }
}

export async function applyPgMigrations(client: PgClient): Promise<PgMigrationResult> {
  const migrations = embeddedPgMigrations();
  await createBookkeeping(client);
  const applied = await client.transaction(async (tx) => {
    await tx.query(`LOCK TABLE ${TABLE} IN ACCESS EXCLUSIVE MODE`);
    const rows = await tx.query<{ created_at: unknown }>(`SELECT created_at FROM ${TABLE} ORDER BY created_at`);
    const seen = rows.map((r) => num(r.created_at));
    const known = new Set(migrations.map((m) => m.folderMillis));
    const unknown = seen.filter((millis) => !known.has(millis));
    if (unknown.length > 0) throw new SchemaTooNewError(seen.length, migrations.length);
    let count = 0;
    for (const m of migrations) {
      if (seen.includes(m.folderMillis)) continue;
      for (const stmt of m.sql) if (stmt.trim() !== "") await tx.query(stmt);
      await tx.query(`INSERT INTO ${TABLE} (hash, created_at) VALUES ($1, $2)`, [m.hash, m.folderMillis]);
      count++;
    }
    return count;
  });
  return { applied, total: migrations.length };
}

/** drizzle's own table, as drizzle-kit creates it, so the stock tools agree with us. */
async function createBookkeeping(client: PgClient): Promise<void> {
  const ddl = `CREATE TABLE IF NOT EXISTS ${TABLE} (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint)`;
  try {
    await client.query(ddl);
  } catch (err) {
    // Two replicas creating it at the same instant: one wins, the other sees a unique violation
    // in the catalog; the table exists either way.
    if (sqlState(err) !== "23505" && sqlState(err) !== "42P07") throw err;
  }
}
