// `hookline db copy --to postgres://…`: a stopped SQLite database into an empty PostgreSQL one,
// the way from one box to several replicas (API.md §11). What is copied is every row a replica
// needs — API keys and portal tokens, event types, webhooks, events, deliveries, attempts, the
// stats roll-up, replay jobs — with each column as stored: a secret encrypted with
// security.encryption_key stays encrypted (the replicas need the same key), a plaintext one stays
// plaintext. Readiness probes, leases (a replay job's too) and rate buckets are PostgreSQL's own
// and start empty.
//
// Why it is built this way:
// - ONE PostgreSQL transaction for the whole copy, with the tables locked against writers: a copy
//   that fails or is interrupted leaves the target as empty as it found it, so it can simply be
//   run again (a half copy would be "not empty" and refused); and no replica started too early
//   sees half of it.
// - Rows go in batches through `INSERT … SELECT FROM unnest($1::text[], …)`: one statement per
//   batch with one array per column, never thousands of bind parameters. A batch ends at
//   BATCH_ROWS rows or BATCH_CHARS characters of text, so payloads of megabytes do not pile up.
// - The source is read in one SQLite read transaction (one snapshot), streamed by `iterate()`.
// - The counts are verified inside the transaction before it commits: a mismatch rolls it back.
import type { Database } from "bun:sqlite";
import { BIN_COLUMNS } from "../../domain/stats/rollup.ts";
import { HAS_PLAINTEXT } from "../secrets-migration.ts";
import type { PgClient, PgQueryable } from "./client.ts";
import { num } from "./client.ts";

type ColumnType = "text" | "bigint" | "int" | "boolean";

interface TableSpec {
  name: CopiedTable;
  columns: readonly (readonly [string, ColumnType])[];
  /** The source's order (the primary key): a stable, resumable-looking progress. */
  orderBy: string;
}

export type CopiedTable =
  | "api_keys"
  | "event_types"
  | "webhooks"
  | "events"
  | "deliveries"
  | "attempts"
  | "attempt_stats"
  | "replay_jobs";

/** In foreign-key order: what a row refers to is copied before it. */
export const COPIED_TABLES: readonly TableSpec[] = [
  {
    name: "api_keys",
    orderBy: "id",
    columns: [
      ["id", "text"], ["tenant_id", "text"], ["role", "text"], ["name", "text"], ["prefix", "text"], ["hash", "text"],
      ["created_at", "bigint"], ["revoked_at", "bigint"], ["expires_at", "bigint"], ["kind", "text"],
    ],
  },
  {
    name: "event_types",
    orderBy: "name",
    columns: [
      ["name", "text"], ["description", "text"], ["schema", "text"], ["payload_format", "text"], ["archived", "boolean"],
      ["created_at", "bigint"], ["updated_at", "bigint"],
    ],
  },
  {
    name: "webhooks",
    orderBy: "id",
    columns: [
      ["id", "text"], ["tenant_id", "text"], ["url", "text"], ["events", "text"], ["description", "text"], ["headers", "text"],
      ["secret", "text"], ["previous_secret", "text"], ["previous_secret_expires_at", "bigint"], ["enabled", "boolean"],
      ["disabled_reason", "text"], ["failure_count", "int"], ["failing_since", "bigint"], ["created_at", "bigint"], ["updated_at", "bigint"],
    ],
  },
  {
    name: "events",
    orderBy: "id",
    columns: [
      ["id", "text"], ["tenant_id", "text"], ["type", "text"], ["payload", "text"], ["payload_format", "text"],
      ["idempotency_key", "text"], ["request_hash", "text"], ["created_at", "bigint"],
    ],
  },
  {
    name: "deliveries",
    orderBy: "id",
    columns: [
      ["id", "text"], ["event_id", "text"], ["webhook_id", "text"], ["tenant_id", "text"], ["event_type", "text"], ["status", "text"],
      ["attempts_count", "int"], ["retry_base", "int"], ["retry_started_at", "bigint"], ["next_attempt_at", "bigint"],
      ["lease_expires_at", "bigint"], ["last_status_code", "int"], ["last_error", "text"], ["created_at", "bigint"], ["updated_at", "bigint"],
    ],
  },
  {
    name: "attempts",
    orderBy: "delivery_id, n",
    columns: [
      ["delivery_id", "text"], ["n", "int"], ["started_at", "bigint"], ["duration_ms", "int"], ["status_code", "int"],
      ["response_body", "text"], ["error", "text"],
    ],
  },
  {
    // The stats roll-up: GET /v1/stats/deliveries on the replicas shows the history before the copy.
    name: "attempt_stats",
    orderBy: "webhook_id, minute",
    columns: [
      ["webhook_id", "text"], ["tenant_id", "text"], ["minute", "bigint"], ["succeeded", "int"], ["retried", "int"],
      ["failed", "int"], ...BIN_COLUMNS.map((c) => [c, "int"] as const),
    ],
  },
  {
    // Replay jobs (API.md §14), done and running: a running one goes on from its cursor on the
    // replicas. Its lease columns (PostgreSQL only) are not copied, so they start null: the job
    // is free for the first replica that looks, as one whose holder's lease ran out.
    name: "replay_jobs",
    orderBy: "id",
    columns: [
      ["id", "text"], ["webhook_id", "text"], ["tenant_id", "text"], ["since", "bigint"], ["until", "bigint"],
      ["event_types", "text"], ["status", "text"], ["matched", "int"], ["created", "int"], ["skipped", "int"],
      ["cursor_created_at", "bigint"], ["cursor_id", "text"], ["error", "text"], ["started_at", "bigint"], ["finished_at", "bigint"],
    ],
  },
];

const BATCH_ROWS = 2_000;
const BATCH_CHARS = 8 * 1024 * 1024;

export type TableCounts = Record<CopiedTable, number>;

export interface CopyProgress {
  table: CopiedTable;
  /** Rows of this table copied so far, and in all. */
  done: number;
  total: number;
  /** Rows of every table copied so far, and in all. */
  allDone: number;
  allTotal: number;
}

export interface CopyResult {
  counts: TableCounts;
  /** Webhooks whose secrets are all encrypted, and those with any in plaintext (copied as they were). */
  secrets: { encrypted: number; plaintext: number };
}

/** The target holds rows already (exit 2): the copy is only into an empty database. */
export class TargetNotEmptyError extends Error {
  constructor(readonly tables: Partial<TableCounts>) {
    super(
      `the PostgreSQL database is not empty (${Object.entries(tables)
        .map(([t, n]) => `${t}: ${n} rows`)
        .join(", ")}): db copy only fills an empty database, so nothing was copied; give it a new database (CREATE DATABASE …), or drop that one's tables if it holds nothing you need`,
    );
    this.name = "TargetNotEmptyError";
  }
}

/** The counts after the copy differ from the source's: the copy was rolled back. */
export class CopyMismatchError extends Error {
  override name = "CopyMismatchError";
}

export function countSource(sqlite: Database): TableCounts {
  const counts = {} as TableCounts;
  for (const t of COPIED_TABLES) {
    counts[t.name] = sqlite.query<{ n: number }, []>(`SELECT count(*) AS n FROM ${t.name}`).get()?.n ?? 0;
  }
  return counts;
}

async function countTarget(tx: PgQueryable): Promise<TableCounts> {
  const [row] = await tx.query(`SELECT ${COPIED_TABLES.map((t) => `(SELECT count(*) FROM ${t.name}) AS ${t.name}`).join(", ")}`);
  const counts = {} as TableCounts;
  for (const t of COPIED_TABLES) counts[t.name] = num(row?.[t.name] ?? 0);
  return counts;
}

function insertStatement(t: TableSpec): string {
  const names = t.columns.map(([c]) => c).join(", ");
  const arrays = t.columns.map(([, type], i) => `$${i + 1}::${type}[]`).join(", ");
  return `INSERT INTO ${t.name} (${names}) SELECT * FROM unnest(${arrays})`;
}

/** A SQLite value as PostgreSQL's column takes it (booleans are 0/1 integers in SQLite). */
function convert(value: unknown, type: ColumnType): unknown {
  if (value === null || value === undefined) return null;
  if (type === "boolean") return value !== 0 && value !== false;
  return value;
}

/**
 * Copies `sqlite` (which the caller keeps still: the instance lock) into `target`, whose schema
 * must be migrated and whose tables must be empty (TargetNotEmptyError otherwise).
 */
export async function copySqliteToPostgres(
  sqlite: Database,
  target: PgClient,
  opts: { onProgress?: (p: CopyProgress) => void } = {},
): Promise<CopyResult> {
  sqlite.run("BEGIN");
  try {
    const counts = countSource(sqlite);
    const allTotal = Object.values(counts).reduce((a, b) => a + b, 0);
    const plaintext = sqlite.query<{ n: number }, []>(`SELECT count(*) AS n FROM webhooks WHERE ${HAS_PLAINTEXT}`).get()?.n ?? 0;
    await target.transaction(async (tx) => {
      // Writers wait (a replica started too early included); plain reads do not.
      await tx.query(`LOCK TABLE ${COPIED_TABLES.map((t) => t.name).join(", ")} IN EXCLUSIVE MODE`);
      const before = await countTarget(tx);
      const filled = Object.fromEntries(Object.entries(before).filter(([, n]) => n > 0));
      if (Object.keys(filled).length > 0) throw new TargetNotEmptyError(filled);
      let allDone = 0;
      for (const t of COPIED_TABLES) {
        let done = 0;
        opts.onProgress?.({ table: t.name, done, total: counts[t.name], allDone, allTotal });
        const insert = insertStatement(t);
        const select = sqlite.query<Record<string, unknown>, []>(
          `SELECT ${t.columns.map(([c]) => c).join(", ")} FROM ${t.name} ORDER BY ${t.orderBy}`,
        );
        let columns = t.columns.map(() => [] as unknown[]);
        let rows = 0;
        let chars = 0;
        const flush = async () => {
          if (rows === 0) return;
          await tx.query(insert, columns);
          done += rows;
          allDone += rows;
          opts.onProgress?.({ table: t.name, done, total: counts[t.name], allDone, allTotal });
          columns = t.columns.map(() => [] as unknown[]);
          rows = 0;
          chars = 0;
        };
        for (const row of select.iterate()) {
          t.columns.forEach(([c, type], i) => {
            const v = row[c];
            if (typeof v === "string") chars += v.length;
            columns[i]?.push(convert(v, type));
          });
          rows++;
          if (rows >= BATCH_ROWS || chars >= BATCH_CHARS) await flush();
        }
        await flush();
      }
      const after = await countTarget(tx);
      const wrong = COPIED_TABLES.filter((t) => after[t.name] !== counts[t.name]);
      if (wrong.length > 0) {
        throw new CopyMismatchError(
          `the copied counts differ from the source's (${wrong.map((t) => `${t.name}: ${after[t.name]} copied of ${counts[t.name]}`).join(", ")}); the copy was rolled back`,
        );
      }
    });
    return { counts, secrets: { encrypted: counts.webhooks - plaintext, plaintext } };
  } finally {
    sqlite.run("ROLLBACK");
  }
}
