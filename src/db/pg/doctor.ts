// What `hookline doctor` reads from a PostgreSQL database: the same counts as SQLite's report
// (db/doctor.ts), plus the server's version, the database's size and who runs the housekeeping.
// Read-only: it never migrates or writes, and it reads in one REPEATABLE READ READ ONLY
// transaction, so its numbers agree with each other while replicas write. Times are compared in
// the database's clock (leases are taken in it), and `now` in the report is that clock.
import journal from "../../../migrations-pg/meta/_journal.json" with { type: "json" };
import { DELIVERY_STATUSES, type DeliveryStatus } from "../../domain/store.ts";
import type { DoctorReport } from "../doctor.ts";
import { DB_NOW_MS, num, numOrNull, type PgClient, type PgQueryable } from "./client.ts";
import { countPgSecrets } from "./secrets.ts";

/** The parts of the report both stores give. */
export type DoctorCounts = Pick<
  DoctorReport,
  "migrations" | "webhooks" | "keys" | "events" | "deliveries" | "oldestPending" | "nextDueAt" | "leases" | "secrets"
>;

export interface PgDoctorReport extends DoctorCounts {
  /** database.url without its password. */
  database: string;
  serverVersion: string;
  databaseBytes: number;
  /** The database's clock (epoch ms) when it was read. */
  now: number;
  /** The replica holding the housekeeping lease, if one does (an expired row is shown as such). */
  housekeeping: { holder: string; expiresAt: number } | null;
}

/** Runs `fn` in a REPEATABLE READ, READ ONLY transaction: one snapshot, and no write can slip in. */
export function readOnlySnapshot<T>(client: PgClient, fn: (tx: PgQueryable) => Promise<T>): Promise<T> {
  return client.transaction(async (tx) => {
    await tx.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    return fn(tx);
  });
}

const TABLES = ["__drizzle_migrations", "webhooks", "api_keys", "events", "deliveries", "leader"] as const;

/**
 * Reads the report. `client` should be a transaction begun by readOnlySnapshot (the CLI's), so
 * the counts are of one moment; `leaseName` is the sweep's housekeeping lease.
 */
export async function inspectPostgres(client: PgQueryable, database: string, leaseName: string): Promise<PgDoctorReport> {
  const one = async (sql: string, params: unknown[] = []): Promise<unknown> => {
    const [row] = await client.query(sql, params);
    return row ? Object.values(row)[0] : undefined;
  };
  const count = async (sql: string, params: unknown[] = []) => num((await one(sql, params)) ?? 0);
  const now = num(await one(`SELECT ${DB_NOW_MS}`));
  const present = new Set(
    (await client.query<{ name: string }>("SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema() AND tablename = ANY($1::text[])", [[...TABLES]])).map(
      (r) => r.name,
    ),
  );
  const has = (t: (typeof TABLES)[number]) => present.has(t);

  const known = journal.entries.map((e) => ({ tag: e.tag, when: e.when }));
  let migrations: DoctorReport["migrations"] = { applied: 0, known: known.length, latest: null, pending: known.map((k) => k.tag) };
  if (has("__drizzle_migrations")) {
    const seen = new Set(
      (await client.query<{ created_at: unknown }>("SELECT created_at FROM __drizzle_migrations")).map((r) => num(r.created_at)),
    );
    const last = seen.size === 0 ? -1 : Math.max(...seen);
    migrations = {
      applied: seen.size,
      known: known.length,
      latest: seen.size === 0 ? null : (known.find((k) => k.when === last)?.tag ?? `unknown (${last})`),
      pending: known.filter((k) => !seen.has(k.when)).map((k) => k.tag),
    };
  }

  let webhooks: DoctorReport["webhooks"] = null;
  if (has("webhooks")) {
    const reasons: Record<string, number> = {};
    const rows = await client.query<{ reason: string | null; n: unknown }>(
      "SELECT disabled_reason AS reason, count(*) AS n FROM webhooks WHERE NOT enabled GROUP BY disabled_reason ORDER BY disabled_reason",
    );
    for (const r of rows) reasons[r.reason ?? "unknown"] = num(r.n);
    webhooks = {
      enabled: await count("SELECT count(*) FROM webhooks WHERE enabled"),
      disabled: await count("SELECT count(*) FROM webhooks WHERE NOT enabled"),
      disabledReasons: reasons,
    };
  }
  const secrets = has("webhooks") ? await countPgSecrets(client) : null;

  const keys: DoctorReport["keys"] = has("api_keys")
    ? {
        active: await count("SELECT count(*) FROM api_keys WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $1)", [now]),
        expired: await count("SELECT count(*) FROM api_keys WHERE revoked_at IS NULL AND expires_at <= $1", [now]),
        revoked: await count("SELECT count(*) FROM api_keys WHERE revoked_at IS NOT NULL"),
      }
    : null;
  const events = has("events") ? await count("SELECT count(*) FROM events") : null;

  let deliveries: DoctorReport["deliveries"] = null;
  let oldestPending: DoctorReport["oldestPending"] = null;
  let nextDueAt: number | null = null;
  let leases: DoctorReport["leases"] = null;
  if (has("deliveries")) {
    deliveries = { pending: 0, delivering: 0, succeeded: 0, failed: 0 };
    for (const r of await client.query<{ status: string; n: unknown }>("SELECT status, count(*) AS n FROM deliveries GROUP BY status")) {
      if ((DELIVERY_STATUSES as readonly string[]).includes(r.status)) deliveries[r.status as DeliveryStatus] = num(r.n);
    }
    const [oldest] = await client.query<{ id: string; created_at: unknown; next_attempt_at: unknown }>(
      `SELECT id, created_at, next_attempt_at FROM deliveries WHERE status = 'pending' ORDER BY created_at, id LIMIT 1`,
    );
    oldestPending = oldest ? { id: oldest.id, createdAt: num(oldest.created_at), nextAttemptAt: numOrNull(oldest.next_attempt_at) } : null;
    nextDueAt = numOrNull(await one("SELECT min(next_attempt_at) FROM deliveries WHERE status = 'pending'"));
    leases = {
      held: deliveries.delivering,
      expired: await count("SELECT count(*) FROM deliveries WHERE status = 'delivering' AND lease_expires_at < $1", [now]),
    };
  }

  let housekeeping: PgDoctorReport["housekeeping"] = null;
  if (has("leader")) {
    const [row] = await client.query<{ holder: string; expires_at: unknown }>(
      "SELECT holder, expires_at FROM leader WHERE name = $1",
      [leaseName],
    );
    housekeeping = row ? { holder: row.holder, expiresAt: num(row.expires_at) } : null;
  }

  return {
    database,
    serverVersion: String((await one("SHOW server_version")) ?? "?"),
    databaseBytes: num((await one("SELECT pg_database_size(current_database())")) ?? 0),
    now,
    migrations,
    webhooks,
    keys,
    events,
    deliveries,
    oldestPending,
    nextDueAt,
    leases,
    secrets,
    housekeeping,
  };
}
