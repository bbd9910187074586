import type { Database } from "bun:sqlite";
import { matchesAny } from "../../domain/event-patterns.ts";
import { envelope } from "../../domain/events/render.ts";
import { newId } from "../../domain/ids.ts";
import type { SecretBox } from "../../domain/secret-box.ts";
import type {
  ClaimedDelivery,
  IngestClaim,
  IngestRequest,
  IngestResult,
  IngestTake,
  NewDelivery,
} from "../../domain/store.ts";
import type { TtlCache } from "./cache.ts";
import { type EventRow, toEvent } from "./rows.ts";

/** Room taken by ingests of a transaction, to give back if it rolls back. */
export type Taken = { claim: IngestClaim; webhookId: string; as: IngestTake; payloadLength: number }[];

interface Target {
  id: string;
  updated_at: number;
  events: string;
  url: string;
  headers: string;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: number | null;
}

// At most this many events share one transaction (one fsync): big enough to amortise the sync,
// small enough to keep each synchronous database call short for the event loop.
const MAX_BATCH = 512;

interface Pending {
  request: IngestRequest;
  resolve(result: IngestResult): void;
  reject(err: unknown): void;
}

/** The statements of one ingest, synchronous: callers run it inside their own transaction. */
interface Subscriber extends Target {
  patterns: string[];
  parsedHeaders: Record<string, string>;
  plainSecret: string;
  plainPrevious: string | null;
}

export function ingestStatements(
  sqlite: Database,
  secrets: SecretBox,
  cache: TtlCache<unknown>,
): (req: IngestRequest, taken?: Taken) => IngestResult {
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
  const TARGET = "id, updated_at, events, url, headers, secret, previous_secret, previous_secret_expires_at";
  const subscribers = sqlite.query<Target, [string]>(`SELECT ${TARGET} FROM webhooks WHERE tenant_id = ? AND enabled = 1`);
  const webhookOf = sqlite.query<Target, [string, string]>(`SELECT ${TARGET} FROM webhooks WHERE id = ? AND tenant_id = ?`);
  const insertDelivery = sqlite.query<
    unknown,
    [string, string, string, string, string, string, number | null, number | null, number, number]
  >(
    `INSERT INTO deliveries (id, event_id, webhook_id, tenant_id, event_type, status, attempts_count, next_attempt_at,
       lease_expires_at, created_at, updated_at)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?7, ?8, ?9, ?10)`,
  );

  // Parsed and decrypted once per tenant, not once per event.
  const prepare = (w: Target): Subscriber => ({
    ...w,
    patterns: JSON.parse(w.events) as string[],
    parsedHeaders: JSON.parse(w.headers) as Record<string, string>,
    plainSecret: secrets.decrypt(w.secret),
    plainPrevious: w.previous_secret === null ? null : secrets.decrypt(w.previous_secret),
  });
  const subscribersOf = (tenantId: string): Subscriber[] =>
    cache.get(tenantId, () => subscribers.all(tenantId).map(prepare)) as Subscriber[];

  function ingestOne(req: IngestRequest, taken: Taken = []): IngestResult {
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
    let targets: Subscriber[];
    if (req.onlyWebhookId !== undefined) {
      const only = webhookOf.get(req.onlyWebhookId, e.tenantId);
      targets = only ? [prepare(only)] : [];
    } else {
      targets = subscribersOf(e.tenantId).filter((w) => matchesAny(w.patterns, e.type));
    }
    const deliveries: NewDelivery[] = [];
    const t = e.createdAt;
    const claim = req.claim;
    const generation = cache.generation;
    for (const w of targets) {
      const id = newId("dlv", t);
      const as = claim?.take(w.id, e.payload.length);
      if (claim === undefined || as === undefined) {
        insertDelivery.run(id, e.id, w.id, e.tenantId, e.type, "pending", t, null, t, t);
        deliveries.push({ id, webhookId: w.id });
        continue;
      }
      taken.push({ claim, webhookId: w.id, as, payloadLength: e.payload.length });
      const leaseExpiresAt = t + claim.leaseMs;
      insertDelivery.run(id, e.id, w.id, e.tenantId, e.type, "delivering", null, leaseExpiresAt, t, t);
      const delivery: ClaimedDelivery = {
        id,
        eventId: e.id,
        webhookId: w.id,
        tenantId: e.tenantId,
        eventType: e.type,
        status: "delivering",
        attemptsCount: 0,
        retryBase: 0,
        retryStartedAt: null,
        createdAt: t,
        payload: e.payload,
        url: w.url,
        headers: w.parsedHeaders,
        secret: w.plainSecret,
        previousSecret: w.plainPrevious,
        previousSecretExpiresAt: w.previous_secret_expires_at,
      };
      deliveries.push({
        id,
        webhookId: w.id,
        claim: { as, delivery, leaseExpiresAt, webhookUpdatedAt: w.updated_at, webhookGeneration: generation },
      });
    }
    return { kind: "created", event: e, deliveries };
  }

  return ingestOne;
}

/**
 * An operational event (hookline.*) of `tenantId`, fanned out like any event, inside the
 * caller's transaction: it is committed together with the change it reports.
 */
export function operationalEmitter(ingestOne: (req: IngestRequest, taken?: Taken) => IngestResult) {
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
export function ingestQueries(sqlite: Database, secrets: SecretBox, cache: TtlCache<unknown>) {
  const ingestOne = ingestStatements(sqlite, secrets, cache);
  /** Runs ingests in one transaction; slots they took go back if it rolls back. */
  function commit(requests: IngestRequest[]): IngestResult[] {
    const taken: Taken = [];
    try {
      return sqlite.transaction(() => requests.map((r) => ingestOne(r, taken))).immediate();
    } catch (err) {
      for (const t of taken) t.claim.giveBack(t.webhookId, t.as, t.payloadLength);
      throw err;
    }
  }

  let queue: Pending[] = [];
  let scheduled = false;

  function flush(): void {
    scheduled = false;
    while (queue.length > 0) {
      const batch = queue.splice(0, MAX_BATCH);
      let results: IngestResult[];
      try {
        results = commit(batch.map((p) => p.request));
      } catch {
        // One bad item must not fail its neighbours: fall back to one transaction each.
        for (const p of batch) {
          try {
            p.resolve(commit([p.request])[0] as IngestResult);
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
