// What `hookline doctor` reads from the database: strictly read-only, never creates the file.
import { constants, Database } from "bun:sqlite";
import { closeSync, existsSync, openSync, readSync, statSync } from "node:fs";
import { resolve } from "node:path";
import journal from "../../migrations/meta/_journal.json" with { type: "json" };
import { DatabaseFileError } from "./backup.ts";
import { HAS_PLAINTEXT } from "./secrets-migration.ts";

import { DELIVERY_STATUSES, type DeliveryStatus } from "../domain/store.ts";

export type { DeliveryStatus };

export interface DoctorReport {
  path: string;
  fileBytes: number;
  walBytes: number;
  pageSize: number;
  pageCount: number;
  freePages: number;
  sqliteVersion: string;
  journalMode: string;
  migrations: {
    applied: number;
    /** Migrations this build carries. */
    known: number;
    /** Tag of the latest applied migration ("0002_key_expiry"), or its timestamp if unknown here. */
    latest: string | null;
    /** Tags of known migrations not applied yet. */
    pending: string[];
  };
  /** null when the table does not exist (a database that was never migrated). */
  webhooks: { enabled: number; disabled: number; disabledReasons: Record<string, number> } | null;
  keys: { active: number; expired: number; revoked: number } | null;
  events: number | null;
  deliveries: Record<DeliveryStatus, number> | null;
  /** The pending delivery created first. */
  oldestPending: { id: string; createdAt: number; nextAttemptAt: number | null } | null;
  /** The earliest next_attempt_at among pending deliveries. */
  nextDueAt: number | null;
  leases: { held: number; expired: number } | null;
  secrets: { encrypted: number; plaintext: number } | null;
}

function size(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/**
 * Whether the file header marks the database as WAL (read/write format versions 2, bytes 18-19).
 * An `immutable` connection reports journal_mode "delete" whatever the file says.
 */
function headerSaysWal(path: string): boolean {
  const header = Buffer.alloc(20);
  const fd = openSync(path, "r");
  try {
    readSync(fd, header, 0, 20, 0);
  } finally {
    closeSync(fd);
  }
  return header[18] === 2 && header[19] === 2;
}

/** A `file:` URI for `path` (absolute), with the characters URIs reserve escaped. */
function fileUri(path: string, query: string): string {
  return `file:${path.split("/").map(encodeURIComponent).join("/")}?${query}`;
}

/**
 * Opens `path` without any chance of writing to it. With a -wal file beside it a server (or a
 * crash) left a log to read through, so it is a normal read-only connection; without one, no
 * process has it open in WAL mode and it is opened `immutable`, which creates no -wal/-shm.
 */
function openReadOnly(path: string, busyTimeoutMs: number): Database {
  const db = existsSync(`${path}-wal`)
    ? new Database(path, { readonly: true })
    : new Database(fileUri(path, "immutable=1"), constants.SQLITE_OPEN_READONLY | constants.SQLITE_OPEN_URI);
  db.run(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
  return db;
}

/** Reads the report. Throws a DatabaseFileError (exit 1) when there is no readable database. */
export function inspectDatabase(pathIn: string, opts: { now: number; busyTimeoutMs: number }): DoctorReport {
  const path = resolve(pathIn);
  if (pathIn === ":memory:" || !existsSync(path)) throw new DatabaseFileError(`no database at ${path}`, 1);
  let db: Database;
  try {
    db = openReadOnly(path, opts.busyTimeoutMs);
  } catch (err) {
    throw new DatabaseFileError(`cannot open the database ${path}: ${(err as Error).message}`, 1);
  }
  try {
    return read(db, path, opts.now);
  } catch (err) {
    if (err instanceof DatabaseFileError) throw err;
    throw new DatabaseFileError(`cannot read the database ${path}: ${(err as Error).message}`, 1);
  } finally {
    db.close();
  }
}

function read(db: Database, path: string, now: number): DoctorReport {
  const value = <T>(sql: string, ...params: (string | number)[]): T | undefined => {
    const row = db.query<Record<string, T>, (string | number)[]>(sql).get(...params);
    return row ? Object.values(row)[0] : undefined;
  };
  const num = (sql: string, ...params: (string | number)[]): number => Number(value<number>(sql, ...params) ?? 0);
  const tables = new Set(
    db
      .query<{ name: string }, []>("SELECT name FROM sqlite_master WHERE type = 'table'")
      .all()
      .map((r) => r.name),
  );
  const has = (t: string) => tables.has(t);

  const known = journal.entries.map((e) => ({ tag: e.tag, when: e.when }));
  let migrations: DoctorReport["migrations"] = { applied: 0, known: known.length, latest: null, pending: known.map((k) => k.tag) };
  if (has("__drizzle_migrations")) {
    const applied = num("SELECT count(*) FROM __drizzle_migrations");
    const last = value<number>("SELECT max(created_at) FROM __drizzle_migrations");
    const lastMillis = last === undefined || last === null ? -1 : Number(last);
    const latest = applied === 0 ? null : (known.find((k) => k.when === lastMillis)?.tag ?? `unknown (${lastMillis})`);
    migrations = { applied, known: known.length, latest, pending: known.filter((k) => k.when > lastMillis).map((k) => k.tag) };
  }

  let webhooks: DoctorReport["webhooks"] = null;
  let secrets: DoctorReport["secrets"] = null;
  if (has("webhooks")) {
    const reasons: Record<string, number> = {};
    for (const r of db
      .query<{ reason: string | null; n: number }, []>(
        "SELECT disabled_reason AS reason, count(*) AS n FROM webhooks WHERE enabled = 0 GROUP BY disabled_reason ORDER BY disabled_reason",
      )
      .all()) {
      reasons[r.reason ?? "unknown"] = r.n;
    }
    webhooks = {
      enabled: num("SELECT count(*) FROM webhooks WHERE enabled = 1"),
      disabled: num("SELECT count(*) FROM webhooks WHERE enabled = 0"),
      disabledReasons: reasons,
    };
    // A webhook counts as plaintext while any of its secrets is: signing, previous, or the value
    // of a secret custom header (the rows `hookline secrets encrypt` would still change).
    const plaintext = num(`SELECT count(*) FROM webhooks WHERE ${HAS_PLAINTEXT}`);
    secrets = { encrypted: num("SELECT count(*) FROM webhooks") - plaintext, plaintext };
  }

  const keys: DoctorReport["keys"] = has("api_keys")
    ? {
        active: num("SELECT count(*) FROM api_keys WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)", now),
        expired: num("SELECT count(*) FROM api_keys WHERE revoked_at IS NULL AND expires_at IS NOT NULL AND expires_at <= ?", now),
        revoked: num("SELECT count(*) FROM api_keys WHERE revoked_at IS NOT NULL"),
      }
    : null;

  const events = has("events") ? num("SELECT count(*) FROM events") : null;

  let deliveries: DoctorReport["deliveries"] = null;
  let oldestPending: DoctorReport["oldestPending"] = null;
  let nextDueAt: number | null = null;
  let leases: DoctorReport["leases"] = null;
  if (has("deliveries")) {
    deliveries = { pending: 0, delivering: 0, succeeded: 0, failed: 0 };
    // One pass over the table (the status indexes are partial, and most rows are finished).
    const counts = db
      .query<{ status: string; n: number }, []>("SELECT status, count(*) AS n FROM deliveries GROUP BY status")
      .all();
    for (const { status, n } of counts) {
      if ((DELIVERY_STATUSES as readonly string[]).includes(status)) deliveries[status as DeliveryStatus] = n;
    }
    const oldest = db
      .query<{ id: string; created_at: number; next_attempt_at: number | null }, []>(
        "SELECT id, created_at, next_attempt_at FROM deliveries WHERE status = 'pending' ORDER BY created_at, id LIMIT 1",
      )
      .get();
    oldestPending = oldest ? { id: oldest.id, createdAt: oldest.created_at, nextAttemptAt: oldest.next_attempt_at } : null;
    const due = value<number | null>("SELECT min(next_attempt_at) FROM deliveries WHERE status = 'pending'");
    nextDueAt = due === undefined || due === null ? null : Number(due);
    leases = {
      held: deliveries.delivering,
      expired: num("SELECT count(*) FROM deliveries WHERE status = 'delivering' AND lease_expires_at < ?", now),
    };
  }

  return {
    path,
    fileBytes: size(path),
    walBytes: size(`${path}-wal`),
    pageSize: num("PRAGMA page_size"),
    pageCount: num("PRAGMA page_count"),
    freePages: num("PRAGMA freelist_count"),
    sqliteVersion: String(value<string>("SELECT sqlite_version()") ?? "?"),
    journalMode: headerSaysWal(path) ? "wal" : String(value<string>("PRAGMA journal_mode") ?? "?"),
    migrations,
    webhooks,
    keys,
    events,
    deliveries,
    oldestPending,
    nextDueAt,
    leases,
    secrets,
  };
}
