// An ingest: plan (ingest-planner.ts, which asks domain/delivery-rules/fan-out.ts), write
// (ingest-writer.ts), group-committed with others (../group-commit.ts); the room claimed for
// deliveries the write did not create goes back to the dispatcher.
import type { Database } from "bun:sqlite";
import { handedOver, unusedRoom } from "../../domain/delivery-rules/fan-out.ts";
import { envelope } from "../../domain/events/render.ts";
import type { SecretBox } from "../../domain/secret-box.ts";
import type { IngestRequest, IngestResult } from "../../domain/store.ts";
import { newId } from "../../lib/ids.ts";
import { type GroupEntry, groupCommit } from "../group-commit.ts";
import type { TtlCache } from "./cache.ts";
import { ingestPlanner, type Planned, type Taken } from "./ingest-planner.ts";
import { type IngestBatchWriter, type IngestWritten, ingestWriter } from "./ingest-writer.ts";

// The parts, for the store and the writer thread that put them together.
export { type IngestPlan, ingestPlanner, type Taken } from "./ingest-planner.ts";
export { type IngestBatchWriter, type IngestWritten, ingestWriter, writeIngestBatch } from "./ingest-writer.ts";

// At most this many events share one transaction (one fsync): big enough to amortise the sync,
// small enough to keep each synchronous database call short for the event loop.
const MAX_BATCH = 512;
// Payload characters per batch: each batch is copied to the writer thread as one message.
const MAX_BATCH_BYTES = 4 * 1024 * 1024;
// The writer has the next batch as soon as it committed one; the rest of the queue grows meanwhile.
const IN_FLIGHT = 2;

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

function resultOf(planned: Planned, written: IngestWritten): IngestResult {
  if (written.kind !== "created") return written;
  return { kind: "created", event: planned.plan.event, deliveries: handedOver(planned.deliveries, written) };
}

function giveBackUnused(taken: Taken, written: IngestWritten | { error: unknown }): void {
  const created = "kind" in written && written.kind === "created" ? written : null;
  for (const x of unusedRoom(taken, created)) x.claim.giveBack(x.webhookId, x.as, x.payloadLength);
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
        // Hookline's own events are always envelopes: their receivers read `type` from the body.
        payloadFormat: "envelope",
        idempotencyKey: null,
        requestHash: null,
        createdAt: now,
      },
      idempotencySince: now,
    });
  };
}

/**
 * The store's ingest: each request is planned here (on the thread that owns the claim), then
 * written with the others of its batch by `writeBatch` (the writer thread), and settled only
 * after that commit.
 */
export function ingestQueries(plan: (req: IngestRequest, taken: Taken) => Planned, writeBatch: IngestBatchWriter) {
  async function write(batch: GroupEntry<IngestRequest, IngestResult>[]): Promise<void> {
    const taken: Taken[] = [];
    const planned: Planned[] = [];
    const live: GroupEntry<IngestRequest, IngestResult>[] = [];
    for (const entry of batch) {
      const t: Taken = [];
      try {
        planned.push(plan(entry.item, t));
        taken.push(t);
        live.push(entry);
      } catch (err) {
        // A plan that fails (a secret that cannot be decrypted) fails its own ingest only.
        giveBackUnused(t, { error: err });
        entry.reject(err);
      }
    }
    if (live.length === 0) return;
    let written: (IngestWritten | { error: unknown })[];
    try {
      written = await writeBatch(planned.map((p) => p.plan));
    } catch (err) {
      written = live.map(() => ({ error: err }));
    }
    for (const [i, entry] of live.entries()) {
      const w = written[i] ?? { error: new Error("the writer gave no answer for this ingest") };
      giveBackUnused(taken[i] ?? [], w);
      if ("error" in w) entry.reject(w.error);
      else entry.resolve(resultOf(planned[i] as Planned, w));
    }
  }
  const queue = groupCommit(write, {
    maxItems: MAX_BATCH,
    maxSize: MAX_BATCH_BYTES,
    sizeOf: (req: IngestRequest) => req.event.payload.length,
    inFlight: IN_FLIGHT,
  });
  return {
    ingest: (request: IngestRequest): Promise<IngestResult> => queue.submit(request),
    /** Settles anything still queued (used before closing the database). */
    drainIngests: (): Promise<void> => queue.drain(),
  };
}
