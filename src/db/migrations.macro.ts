// A Bun macro: runs at build (and transpile) time, so the SQL of every migration is inlined into
// the bundle. drizzle's stock migrator reads migrations/ from disk at run time, which a compiled
// binary alone in an empty folder does not have.
import { join } from "node:path";
import { readMigrationFiles } from "drizzle-orm/migrator";

export interface EmbeddedMigration {
  sql: string[];
  folderMillis: number;
  hash: string;
}

export function embeddedMigrations(): EmbeddedMigration[] {
  return readFolder("migrations");
}

/** The PostgreSQL store's migrations (migrations-pg/, drizzle-kit's postgresql dialect). */
export function embeddedPgMigrations(): EmbeddedMigration[] {
  return readFolder("migrations-pg");
}

function readFolder(name: string): EmbeddedMigration[] {
  const folder = join(import.meta.dir, "..", "..", name);
  return readMigrationFiles({ migrationsFolder: folder }).map((m) => ({
    sql: m.sql,
    folderMillis: m.folderMillis,
    hash: m.hash,
  }));
}
