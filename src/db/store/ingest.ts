import type { Database } from "bun:sqlite";
import { matchesAny } from "../../domain/event-patterns.ts";
import { envelope } from "../../domain/events/render.ts";
import { newId } from "../../domain/ids.ts";
import type { IngestRequest, IngestResult } from "../../domain/store.ts";
import { type EventRow, toEvent } from "./rows.ts";

// At most this many events share one transaction (one fsync): big enough to amortise the sync,
// small enough to keep each synchronous database call short for the event loop.
const MAX_BATCH = 512;

interface Pending {
  request: IngestRequest;
  resolve(result: IngestResult): void;
  reject(err: unknown): void;
}

/** The statements of one ingest, synchronous: callers run it inside their own transaction. */
export function ingestStatements(sqlite: Database): (req: IngestRequest) => IngestResult {
  const findByKey = sqlite.query<EventRow, [string, string]>(
    "SELECT * FROM events WHERE tenant_id = ? AND idempotency_key = ?",
  );
  const forgetKey = sqlite.query<unknown, [string]>("UPDATE events SET idempotency_key = NULL WHERE id = ?");
  const countDeliveries = sqlite.query<{ n: number }, [string]>(
    "SELECT count(*) AS n FROM deliveries WHERE event_id = ?",
  );
  const insertEvent = sqlite.query<unknown, [string, string, string, string, string | null, string | null, number]>(
    "INSERT INTO events (id, tenant_id, type, payload, idempotency_key, request_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
  );
  const subscribers = sqlite.query<{ id: string; events: string }, [string]>(
    "SELECT id, events FROM webhooks WHERE tenant_id = ? AND enabled = 1",
  );
  const webhookOf = sqlite.query<{ id: string }, [string, string]>(
    "SELECT id FROM webhooks WHERE id = ? AND tenant_id = ?",
  );
  const insertDelivery = sqlite.query<unknown, [string, string, string, string, string, number, number, number]>(
    `INSERT INTO deliveries (id, event_id, webhook_id, tenant_id, event_type, status, attempts_count, next_attempt_at, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?)`,
  );

  function ingestOne(req: IngestRequest): IngestResult {
    const e = req.event;
    if (e.idempotencyKey !== null) {
      const prior = findByKey.get(e.tenantId, e.idempotencyKey);
      if (prior && prior.created_at >= req.idempotencySince) {
        const event = toEvent(prior);
        if (prior.request_hash !== e.requestHash) return { kind: "conflict", event };
        return { kind: "replay", event, deliveries: countDeliveries.get(prior.id)?.n ?? 0 };
      }
      // Outside the window: the old event keeps its history but no longer owns the key.
      if (prior) forgetKey.run(prior.id);
    }
    insertEvent.run(e.id, e.tenantId, e.type, e.payload, e.idempotencyKey, e.requestHash, e.createdAt);
    let targets: string[];
    if (req.onlyWebhookId !== undefined) {
      targets = webhookOf.get(req.onlyWebhookId, e.tenantId) ? [req.onlyWebhookId] : [];
    } else {
      targets = subscribers
        .all(e.tenantId)
        .filter((w) => matchesAny(JSON.parse(w.events) as string[], e.type))
        .map((w) => w.id);
    }
    const deliveryIds: string[] = [];
    for (const webhookId of targets) {
      const id = newId("dlv", e.createdAt);
      insertDelivery.run(id, e.id, webhookId, e.tenantId, e.type, e.createdAt, e.createdAt, e.createdAt);
      deliveryIds.push(id);
    }
    return { kind: "created", event: e, deliveryIds };
  }

  return ingestOne;
}

/**
 * An operational event (hookline.*) of `tenantId`, fanned out like any event, inside the
 * caller's transaction: it is committed together with the change it reports.
 */
export function operationalEmitter(ingestOne: (req: IngestRequest) => IngestResult) {
  return (tenantId: string, type: string, data: Record<string, unknown>, now: number): void => {
    const id = newId("evt", now);
    ingestOne({
      event: {
        id,
        tenantId,
        type,
        payload: envelope({ id, type, tenantId, createdAt: now }, data),
        idempotencyKey: null,
        requestHash: null,
        createdAt: now,
      },
      idempotencySince: now,
    });
  };
}

/**
 * Group commit: ingests that arrive in the same turn of the event loop are written in one
 * transaction, and every caller's promise settles only after that commit. A 202 still means
 * "on disk"; N concurrent publishers just share the fsync.
 */
export function ingestQueries(sqlite: Database) {
  const ingestOne = ingestStatements(sqlite);

  let queue: Pending[] = [];
  let scheduled = false;

  function flush(): void {
    scheduled = false;
    while (queue.length > 0) {
      const batch = queue.splice(0, MAX_BATCH);
      let results: IngestResult[];
      try {
        results = sqlite.transaction(() => batch.map((p) => ingestOne(p.request))).immediate();
      } catch {
        // One bad item must not fail its neighbours: fall back to one transaction each.
        for (const p of batch) {
          try {
            p.resolve(sqlite.transaction(() => ingestOne(p.request)).immediate());
          } catch (err) {
            p.reject(err);
          }
        }
        continue;
      }
      for (const [i, p] of batch.entries()) p.resolve(results[i] as IngestResult);
    }
  }

  return {
    ingest(request: IngestRequest): Promise<IngestResult> {
      return new Promise<IngestResult>((resolve, reject) => {
        queue.push({ request, resolve, reject });
        if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      });
    },
    /** Settles anything still queued (used before closing the database). */
    drainIngests(): void {
      if (queue.length > 0) flush();
      queue = [];
    },
  };
}
