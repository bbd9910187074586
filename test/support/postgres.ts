// PostgreSQL for the tests. One cluster per test process (`sharedPostgres`, started on first use
// and stopped at exit) with a new empty database per test or store (`freshDatabase`); a test
// that stops or restarts the server starts its own with `startPostgres`.
//
// Tests that need PostgreSQL use `postgresTest` / `describePostgres`: where no server binaries
// are installed they are skipped with one loud line, unless HOOKLINE_REQUIRE_POSTGRES=1 (set by
// .ci/run), which turns the skip into a failure. Mirrors test/support/browser.ts.
import { describe, test } from "bun:test";
import { POSTGRES_INSTALL_HINT, type PostgresCluster, findPostgresBinaries, startPostgres } from "./postgres-cluster.ts";

export {
  type PostgresBinaries,
  type PostgresCluster,
  type PostgresOptions,
  type StopMode,
  POSTGRES_INSTALL_HINT,
  findPostgresBinaries,
  startPostgres,
} from "./postgres-cluster.ts";

export const POSTGRES_AVAILABLE = findPostgresBinaries() !== undefined;
const required = process.env.HOOKLINE_REQUIRE_POSTGRES === "1";
const missing = `no PostgreSQL server binaries (initdb, postgres) in ${process.env.HOOKLINE_POSTGRES_BIN || "/usr/lib/postgresql/*/bin or on the PATH"}`;
if (!POSTGRES_AVAILABLE && !required) {
  console.warn(`\n!!! SKIPPING POSTGRESQL TESTS: ${missing} (${POSTGRES_INSTALL_HINT}) !!!\n`);
}

function requiredButMissing(): never {
  throw new Error(`PostgreSQL is required (HOOKLINE_REQUIRE_POSTGRES=1) but missing: ${missing}; ${POSTGRES_INSTALL_HINT}`);
}

/** `test`, or a failing test when PostgreSQL is required but missing, or a loud skip. */
export function postgresTest(name: string, fn: () => Promise<void> | void, timeoutMs = 60_000): void {
  if (POSTGRES_AVAILABLE) test(name, fn, timeoutMs);
  else if (required) test(name, requiredButMissing);
  // Skipped only where the machine lacks it, after the loud line above; CI refuses the skip.
  else test.skip(name, fn);
}

/** `describe` for a block of PostgreSQL tests (hooks included), with the same skip rules. */
export function describePostgres(name: string, fn: () => void): void {
  if (POSTGRES_AVAILABLE) describe(name, fn);
  else if (required) describe(name, () => test("PostgreSQL is installed", requiredButMissing));
  // Skipped only where the machine lacks it, after the loud line; CI refuses the skip.
  else describe.skip(name, fn);
}

let shared: Promise<PostgresCluster> | undefined;

/**
 * This process's cluster, started on first use (about a second) and stopped at exit. Tests
 * share it, so they must not stop or restart it; one left down by a failed test is started
 * again here, one stopped is replaced.
 */
export async function sharedPostgres(): Promise<PostgresCluster> {
  if (shared !== undefined) {
    const cluster = await shared;
    if (cluster.running) return cluster;
    if (!cluster.removed) {
      await cluster.up();
      return cluster;
    }
  }
  shared = startPostgres();
  return shared;
}

/** A new empty database on the shared cluster, owned by the app's role: its URL. */
export async function freshDatabase(options?: { name?: string; template?: string }): Promise<string> {
  return (await sharedPostgres()).freshDatabase(options);
}
