// Ingests on PostgreSQL: each request planned (ingest-plan.ts, which asks
// domain/delivery-rules/fan-out.ts), then written with the others of its group commit
// (../../group-commit.ts) in one transaction (ingest-write.ts): one commit, and so one WAL
// flush, for up to MAX_BATCH events. The room the dispatcher reserved for deliveries the write
// did not create goes back to it. `emit` writes an operational event inside a transaction the
// caller holds (an outcome's), so the event commits with the change it reports.
import { handedOver, unusedRoom } from "../../../domain/delivery-rules/fan-out.ts";
import { envelope } from "../../../domain/events/render.ts";
import type { IngestRequest, IngestResult } from "../../../domain/store.ts";
import { newId } from "../../../lib/ids.ts";
import { type GroupEntry, groupCommit } from "../../group-commit.ts";
import { type PgQueryable, storageTrouble } from "../client.ts";
import type { AsyncTtlCache, PgContext } from "../context.ts";
import { type HotPathOptions, transaction } from "./hot-path.ts";
import { ingestPlanner, type PgIngestPlan, type Planned, type Taken } from "./ingest-plan.ts";
import { type IngestWritten, writeIngests } from "./ingest-write.ts";

// As SQLite's (db/store/ingest.ts): events per transaction, payload characters per batch (one
// statement's arrays), and batches written at once (two: the next one is ready as soon as one
// committed, and each has its own connection).
const MAX_BATCH = 512;
const MAX_BATCH_BYTES = 4 * 1024 * 1024;
const IN_FLIGHT = 2;
// A plan whose key's owner vanished between the insert and the read is written again, this
// many times at most (it takes the key then, or replays whoever took it meanwhile).
const VANISHED_TRIES = 3;
// Rounds of planning for an ingest whose cached subscriber list was found stale.
const STALE_TRIES = 3;

/** An operational event (hookline.*) of `tenantId`, fanned out like any event, inside `tx`. */
export type PgEmit = (tx: PgQueryable, tenantId: string, type: string, data: Record<string, unknown>, now: number) => Promise<void>;

type Outcome = IngestWritten | { error: unknown };

function resultOf(planned: Planned, written: IngestWritten): IngestResult {
  if (written.kind === "replay" || written.kind === "conflict") return written;
  if (written.kind === "vanished") throw new Error("the event holding this idempotency key vanished while it was read");
  if (written.kind === "stale") throw new Error("the ingest was planned from a stale subscriber list");
  return { kind: "created", event: planned.plan.event, deliveries: handedOver(planned.deliveries, written) };
}

function giveBackUnused(taken: Taken, written: Outcome): void {
  const created = "kind" in written && written.kind === "created" ? written : null;
  for (const x of unusedRoom(taken, created)) x.claim.giveBack(x.webhookId, x.as, x.payloadLength);
}

export function pgIngestQueries(ctx: PgContext, subscribers: AsyncTtlCache<unknown>, opts: HotPathOptions = {}) {
  const clock = opts.leaseClock ?? "database";
  const plan = ingestPlanner(ctx, subscribers);

  /** One transaction for all; if it fails, each alone, so one bad item does not fail its neighbours. */
  async function writeTogether(plans: PgIngestPlan[]): Promise<Outcome[]> {
    try {
      return await transaction(ctx.client, (tx) => writeIngests(tx, plans, clock));
    } catch (err) {
      // The database down or read-only fails every one of them alike: no point asking again.
      if (plans.length === 1 || storageTrouble(err) !== undefined) return plans.map(() => ({ error: err }));
      const out: Outcome[] = [];
      for (const p of plans) {
        try {
          out.push(...(await transaction(ctx.client, (tx) => writeIngests(tx, [p], clock))));
        } catch (error) {
          out.push({ error });
        }
      }
      return out;
    }
  }

  async function writeAll(plans: PgIngestPlan[]): Promise<Outcome[]> {
    const out = await writeTogether(plans);
    for (let attempt = 1; attempt < VANISHED_TRIES; attempt++) {
      const again = out.flatMap((w, i) => ("kind" in w && w.kind === "vanished" ? [i] : []));
      if (again.length === 0) break;
      const written = await writeTogether(again.map((i) => plans[i] as PgIngestPlan));
      for (const [j, i] of again.entries()) out[i] = written[j] as Outcome;
    }
    return out;
  }

  /** Writes `batch`; the entries planned from a stale cache (ingest-write.ts) are handed back. */
  async function writeRound(batch: GroupEntry<IngestRequest, IngestResult>[], checkCache: boolean): Promise<GroupEntry<IngestRequest, IngestResult>[]> {
    const taken: Taken[] = [];
    const planned: Planned[] = [];
    const live: GroupEntry<IngestRequest, IngestResult>[] = [];
    for (const entry of batch) {
      const t: Taken = [];
      try {
        const p = await plan(entry.item, t);
        if (!checkCache) p.plan.cached = null;
        planned.push(p);
        taken.push(t);
        live.push(entry);
      } catch (err) {
        // A plan that fails (the database unreachable, a secret that cannot be decrypted) fails
        // its own ingest only.
        giveBackUnused(t, { error: err });
        entry.reject(err);
      }
    }
    const again: GroupEntry<IngestRequest, IngestResult>[] = [];
    if (live.length === 0) return again;
    const written = await writeAll(planned.map((p) => p.plan));
    for (const [i, entry] of live.entries()) {
      const w = written[i] ?? { error: new Error("the write gave no answer for this ingest") };
      giveBackUnused(taken[i] ?? [], w);
      if ("error" in w) entry.reject(w.error);
      else if (w.kind === "stale") {
        subscribers.delete(w.tenantId);
        again.push(entry);
      } else {
        try {
          entry.resolve(resultOf(planned[i] as Planned, w));
        } catch (err) {
          entry.reject(err);
        }
      }
    }
    return again;
  }

  async function write(batch: GroupEntry<IngestRequest, IngestResult>[]): Promise<void> {
    // Planned again from a fresh read, up to STALE_TRIES times; the last round writes what it
    // read (webhooks being created while it writes are concurrent with it, not before it).
    let round = batch;
    for (let attempt = 1; round.length > 0; attempt++) round = await writeRound(round, attempt < STALE_TRIES);
  }

  const queue = groupCommit(write, {
    maxItems: MAX_BATCH,
    maxSize: MAX_BATCH_BYTES,
    sizeOf: (req: IngestRequest) => req.event.payload.length,
    inFlight: IN_FLIGHT,
  });

  const emit: PgEmit = async (tx, tenantId, type, data, now) => {
    const id = newId("evt", now);
    const request: IngestRequest = {
      event: { id, tenantId, type, payload: envelope({ id, type, tenantId, createdAt: now }, data), payloadFormat: "envelope", idempotencyKey: null, requestHash: null, createdAt: now },
      idempotencySince: now,
    };
    // Read in `tx`: the fan-out sees what this transaction changed (a webhook it disabled).
    const planned = await plan(request, [], tx);
    await writeIngests(tx, [planned.plan], clock);
  };

  return {
    queries: { ingest: (request: IngestRequest): Promise<IngestResult> => queue.submit(request) },
    emit,
    /** Settles anything still queued (before the store closes its client). */
    drain: (): Promise<void> => queue.drain(),
  };
}
