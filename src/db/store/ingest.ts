import type { Database } from "bun:sqlite";
import { matchesAny } from "../../domain/event-patterns.ts";
import { envelope } from "../../domain/events/render.ts";
import { newId } from "../../lib/ids.ts";
import type { SecretBox } from "../../domain/secret-box.ts";
import type {
  ClaimedDelivery,
  EventRecord,
  IngestClaim,
  IngestRequest,
  IngestResult,
  IngestTake,
  NewDelivery,
} from "../../domain/store.ts";
import type { TtlCache } from "./cache.ts";
import { type EventRow, parseHeaders, toEvent } from "./rows.ts";

/** Room taken by an ingest's plan, to give back if its write does not create it. */
export type Taken = { claim: IngestClaim; deliveryId: string; webhookId: string; as: IngestTake; payloadLength: number }[];

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
// Payload characters per batch: each batch is copied to the writer thread as one message.
const MAX_BATCH_BYTES = 4 * 1024 * 1024;
const IN_FLIGHT = 2;

interface Pending {
  request: IngestRequest;
  resolve(result: IngestResult): void;
  reject(err: unknown): void;
}

/** A subscriber as the fan-out uses it: parsed and decrypted once per tenant, not per event. */
interface Subscriber extends Target {
  patterns: string[];
  parsedHeaders: Record<string, string>;
  plainSecret: string;
  plainPrevious: string | null;
}

/**
 * What an ingest writes, decided before the write: the event, and a row per fanned-out
 * delivery with the status its claim gave it. Plain data, so the writer may be another thread.
 */
export interface IngestPlan {
  event: EventRecord;
  idempotencySince: number;
  /** The test endpoint's delivery: to its webhook whether enabled or not, whatever its events. */
  test: boolean;
  rows: {
    id: string;
    webhookId: string;
    status: "pending" | "delivering";
    leaseExpiresAt: number | null;
    /** The webhook's updated_at when the plan read it. */
    webhookUpdatedAt: number;
  }[];
}

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

/**
 * The read side of an ingest: the subscribers it fans out to (cached per tenant), an id per
 * delivery, and the room its claim takes. Runs before the write, on the thread that owns the
 * claim; room taken is listed in `taken` to be given back if the write does not create.
 */
export function ingestPlanner(sqlite: Database, secrets: SecretBox, cache: TtlCache<unknown>) {
  const TARGET = "id, updated_at, events, url, headers, secret, previous_secret, previous_secret_expires_at";
  const subscribers = sqlite.query<Target, [string]>(`SELECT ${TARGET} FROM webhooks WHERE tenant_id = ? AND enabled = 1`);
  const webhookOf = sqlite.query<Target, [string, string]>(`SELECT ${TARGET} FROM webhooks WHERE id = ? AND tenant_id = ?`);

  const prepare = (w: Target): Subscriber => ({
    ...w,
    patterns: JSON.parse(w.events) as string[],
    parsedHeaders: parseHeaders(w.headers, secrets),
    plainSecret: secrets.decrypt(w.secret),
    plainPrevious: w.previous_secret === null ? null : secrets.decrypt(w.previous_secret),
  });
  const subscribersOf = (tenantId: string): Subscriber[] =>
    cache.get(tenantId, () => subscribers.all(tenantId).map(prepare)) as Subscriber[];

  return function plan(req: IngestRequest, taken: Taken): { plan: IngestPlan; deliveries: NewDelivery[] } {
    const e = req.event;
    let targets: Subscriber[];
    if (req.onlyWebhookId !== undefined) {
      const only = webhookOf.get(req.onlyWebhookId, e.tenantId);
      targets = only ? [prepare(only)] : [];
    } else {
      targets = subscribersOf(e.tenantId).filter((w) => matchesAny(w.patterns, e.type));
    }
    const rows: IngestPlan["rows"] = [];
    const deliveries: NewDelivery[] = [];
    const t = e.createdAt;
    const claim = req.claim;
    const generation = cache.generation;
    for (const w of targets) {
      const id = newId("dlv", t);
      const as = claim?.take(w.id, e.payload.length);
      if (claim === undefined || as === undefined) {
        rows.push({ id, webhookId: w.id, status: "pending", leaseExpiresAt: null, webhookUpdatedAt: w.updated_at });
        deliveries.push({ id, webhookId: w.id });
        continue;
      }
      taken.push({ claim, deliveryId: id, webhookId: w.id, as, payloadLength: e.payload.length });
      const leaseExpiresAt = t + claim.leaseMs;
      rows.push({ id, webhookId: w.id, status: "delivering", leaseExpiresAt, webhookUpdatedAt: w.updated_at });
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
    const test = req.onlyWebhookId !== undefined;
    return { plan: { event: e, idempotencySince: req.idempotencySince, test, rows }, deliveries };
  };
}

/**
 * The write side of an ingest, synchronous: callers run it inside their own transaction (the
 * idempotency check and the inserts must see the same snapshot).
 */
export function ingestWriter(sqlite: Database): (plan: IngestPlan) => IngestWritten {
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
    insertEvent.run(e.id, e.tenantId, e.type, e.payload, e.idempotencyKey, e.requestHash, e.createdAt);
    const t = e.createdAt;
    const skipped: string[] = [];
    const pending: string[] = [];
    for (const r of plan.rows) {
      let status = r.status;
      let lease = r.leaseExpiresAt;
      // The plan read the webhook earlier (and maybe from a cache): one that changed since — a
      // PATCH, a disable, a delete committed meanwhile — is looked at again as it is now.
      const w = webhookNow.get(r.webhookId);
      if (w === null || w.updated_at !== r.webhookUpdatedAt) {
        const still =
          w !== null && (plan.test || (w.enabled === 1 && matchesAny(JSON.parse(w.events) as string[], e.type)));
        if (!still) {
          skipped.push(r.id);
          continue;
        }
        if (status === "delivering") {
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

/** Plan and write in one go, synchronously, inside the caller's transaction. */
export function ingestStatements(
  sqlite: Database,
  secrets: SecretBox,
  cache: TtlCache<unknown>,
): (req: IngestRequest, taken?: Taken) => IngestResult {
  const plan = ingestPlanner(sqlite, secrets, cache);
  const write = ingestWriter(sqlite);
  return (req, taken = []) => {
    const planned = plan(req, taken);
    const written = write(planned.plan);
    giveBackUnused(taken, written);
    return resultOf(planned, written);
  };
}

function resultOf(planned: { plan: IngestPlan; deliveries: NewDelivery[] }, written: IngestWritten): IngestResult {
  if (written.kind !== "created") return written;
  let deliveries = planned.deliveries;
  if (written.skipped.length > 0 || written.pending.length > 0) {
    const skipped = new Set(written.skipped);
    const pending = new Set(written.pending);
    deliveries = deliveries
      .filter((d) => !skipped.has(d.id))
      .map((d) => (pending.has(d.id) ? { id: d.id, webhookId: d.webhookId } : d));
  }
  return { kind: "created", event: planned.plan.event, deliveries };
}

/** Room the plan took for deliveries the write did not create as claimed goes back. */
function giveBackUnused(taken: Taken, written: IngestWritten | { error: unknown }): void {
  if ("kind" in written && written.kind === "created") {
    if (written.skipped.length === 0 && written.pending.length === 0) return;
    const unused = new Set([...written.skipped, ...written.pending]);
    for (const x of taken) if (unused.has(x.deliveryId)) x.claim.giveBack(x.webhookId, x.as, x.payloadLength);
    return;
  }
  for (const x of taken) x.claim.giveBack(x.webhookId, x.as, x.payloadLength);
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

/** The writes of ingests, possibly on another thread: one transaction per call. */
export type IngestBatchWriter = (plans: IngestPlan[]) => Promise<(IngestWritten | { error: unknown })[]>;

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

/**
 * Group commit: ingests that arrive while the previous batch is being written (or in the same
 * turn of the event loop) are written in one transaction, and every caller's promise settles
 * only after that commit. A 202 still means "on disk"; N concurrent publishers share the fsync.
 * One batch is written at a time, so the next one grows while the disk syncs.
 */
export function ingestQueries(
  plan: (req: IngestRequest, taken: Taken) => { plan: IngestPlan; deliveries: NewDelivery[] },
  writeBatch: IngestBatchWriter,
) {
  const queue: Pending[] = [];
  let scheduled = false;
  // Batches sent to the writer and not answered yet, at most IN_FLIGHT: the writer has the
  // next batch as soon as it committed one, and the rest of the queue grows meanwhile.
  let writing = 0;
  const settled = new Set<Promise<void>>();

  async function writeOne(batch: Pending[]): Promise<void> {
    const taken: Taken[] = [];
    const planned: { plan: IngestPlan; deliveries: NewDelivery[] }[] = [];
    const live: Pending[] = [];
    for (const p of batch) {
      const t: Taken = [];
      try {
        planned.push(plan(p.request, t));
        taken.push(t);
        live.push(p);
      } catch (err) {
        for (const x of t) x.claim.giveBack(x.webhookId, x.as, x.payloadLength);
        p.reject(err);
      }
    }
    if (live.length === 0) return;
    let written: (IngestWritten | { error: unknown })[];
    try {
      written = await writeBatch(planned.map((p) => p.plan));
    } catch (err) {
      written = live.map(() => ({ error: err }));
    }
    for (const [i, p] of live.entries()) {
      const w = written[i] ?? { error: new Error("the writer gave no answer for this ingest") };
      giveBackUnused(taken[i] ?? [], w);
      if ("error" in w) p.reject(w.error);
      else p.resolve(resultOf(planned[i] as { plan: IngestPlan; deliveries: NewDelivery[] }, w));
    }
  }

  /** The head of the queue, up to MAX_BATCH events and MAX_BATCH_BYTES of payloads (one at least). */
  function nextBatch(): Pending[] {
    let n = 0;
    let bytes = 0;
    while (n < queue.length && n < MAX_BATCH) {
      bytes += (queue[n] as Pending).request.event.payload.length;
      if (n > 0 && bytes > MAX_BATCH_BYTES) break;
      n++;
    }
    return queue.splice(0, n);
  }

  function kick(): void {
    if (scheduled || writing >= IN_FLIGHT || queue.length === 0) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      if (writing >= IN_FLIGHT || queue.length === 0) return;
      writing++;
      const done = writeOne(nextBatch()).finally(() => {
        writing--;
        settled.delete(done);
        kick();
      });
      settled.add(done);
      kick();
    });
  }

  return {
    ingest(request: IngestRequest): Promise<IngestResult> {
      return new Promise<IngestResult>((resolve, reject) => {
        queue.push({ request, resolve, reject });
        kick();
      });
    },
    /** Settles anything still queued (used before closing the database). */
    async drainIngests(): Promise<void> {
      while (settled.size > 0 || queue.length > 0) {
        kick();
        await Promise.all([...settled, new Promise((r) => setImmediate(r))]);
      }
    },
  };
}
