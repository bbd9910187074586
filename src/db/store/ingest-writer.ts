// The write side of an ingest, synchronous, on the connection that owns the hot-path writes:
// the idempotency check, the event, and its deliveries as planned — each one whose webhook
// changed since the plan read it re-decided by recheckPlanned (domain/delivery-rules/fan-out.ts).
import type { Database } from "bun:sqlite";
import { recheckPlanned } from "../../domain/delivery-rules/fan-out.ts";
import type { EventRecord } from "../../domain/store.ts";
import type { IngestPlan } from "./ingest-planner.ts";
import { type EventRow, toEvent } from "./rows.ts";

/** What the write of a plan found: created as planned, or an earlier event owns the key. */
export type IngestWritten =
  /**
   * Created; deliveries whose webhook changed after the plan read it were left out (`skipped`:
   * deleted, disabled, no longer subscribed) or written pending instead of claimed (`pending`:
   * sent only after a claim reads the webhook as it is now).
   */
  | { kind: "created"; skipped: string[]; pending: string[] }
  | { kind: "replay"; event: EventRecord; deliveries: number }
  | { kind: "conflict"; event: EventRecord };

/** The writes of ingests, possibly on another thread: one transaction per call. */
export type IngestBatchWriter = (plans: IngestPlan[]) => Promise<(IngestWritten | { error: unknown })[]>;

/** Callers run it inside their own transaction: the idempotency check and the inserts must see one snapshot. */
export function ingestWriter(sqlite: Database): (plan: IngestPlan) => IngestWritten {
  const findByKey = sqlite.query<EventRow, [string, string]>(
    "SELECT * FROM events WHERE tenant_id = ? AND idempotency_key = ?",
  );
  const forgetKey = sqlite.query<unknown, [string]>("UPDATE events SET idempotency_key = NULL WHERE id = ?");
  const countDeliveries = sqlite.query<{ n: number }, [string]>(
    "SELECT count(*) AS n FROM deliveries WHERE event_id = ?",
  );
  const insertEvent = sqlite.query<unknown, [string, string, string, string, string, string | null, string | null, number]>(
    "INSERT INTO events (id, tenant_id, type, payload, payload_format, idempotency_key, request_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
  );
  const webhookNow = sqlite.query<{ enabled: number; updated_at: number; events: string }, [string]>(
    "SELECT enabled, updated_at, events FROM webhooks WHERE id = ?",
  );
  const insertDelivery = sqlite.query<
    unknown,
    [string, string, string, string, string, string, number | null, number | null, number, number]
  >(
    `INSERT INTO deliveries (id, event_id, webhook_id, tenant_id, event_type, status, attempts_count, next_attempt_at,
       lease_expires_at, created_at, updated_at)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?7, ?8, ?9, ?10)`,
  );

  return function write(plan: IngestPlan): IngestWritten {
    const e = plan.event;
    if (e.idempotencyKey !== null) {
      const prior = findByKey.get(e.tenantId, e.idempotencyKey);
      if (prior && prior.created_at >= plan.idempotencySince) {
        const event = toEvent(prior);
        if (prior.request_hash !== e.requestHash) return { kind: "conflict", event };
        return { kind: "replay", event, deliveries: countDeliveries.get(prior.id)?.n ?? 0 };
      }
      // Outside the window: the old event keeps its history but no longer owns the key.
      if (prior) forgetKey.run(prior.id);
    }
    insertEvent.run(e.id, e.tenantId, e.type, e.payload, e.payloadFormat, e.idempotencyKey, e.requestHash, e.createdAt);
    const t = e.createdAt;
    const skipped: string[] = [];
    const pending: string[] = [];
    for (const r of plan.rows) {
      let status = r.status;
      let lease = r.leaseExpiresAt;
      // Every change of a webhook moves its updated_at (rows.ts webhookTouched): the same value
      // is the row the plan read, and the plan stands. Another is decided again, as it is now.
      const w = webhookNow.get(r.webhookId);
      if (w === null || w.updated_at !== r.webhookUpdatedAt) {
        const current = w === null ? null : { enabled: w.enabled === 1, patterns: JSON.parse(w.events) as string[] };
        const fate = recheckPlanned(status, current, e.type, plan.test);
        if (fate === "skip") {
          skipped.push(r.id);
          continue;
        }
        if (fate === "pending") {
          status = "pending";
          lease = null;
          pending.push(r.id);
        }
      }
      const next = status === "pending" ? t : null;
      insertDelivery.run(r.id, e.id, r.webhookId, e.tenantId, e.type, status, next, lease, t, t);
    }
    return { kind: "created", skipped, pending };
  };
}

/**
 * Runs plans in one transaction (one fsync); if it fails, each alone, so one bad item does not
 * fail its neighbours. Synchronous: the writer thread (or this one) calls it.
 */
export function writeIngestBatch(
  sqlite: Database,
  write: (plan: IngestPlan) => IngestWritten,
  plans: IngestPlan[],
): (IngestWritten | { error: unknown })[] {
  try {
    return sqlite.transaction(() => plans.map(write)).immediate();
  } catch {
    return plans.map((p) => {
      try {
        return sqlite.transaction(() => write(p)).immediate();
      } catch (error) {
        return { error };
      }
    });
  }
}
