// The read side of a PostgreSQL ingest, before its transaction: the candidate webhooks (the
// tenant's subscribers from the replica's cache, or the test endpoint's one), the fan-out plan
// (domain/delivery-rules/fan-out.ts decides), an id per delivery, and for each one the ingest
// claims for this replica what sending it needs and a fresh claim token. As SQLite's
// ingest-planner.ts; the write (ingest-write.ts) locks the planned webhooks and re-decides
// those changed since.
import { planFanOut } from "../../../domain/delivery-rules/fan-out.ts";
import type { ClaimedDelivery, EventRecord, IngestClaim, IngestClaimed, IngestRequest, IngestTake, NewDelivery } from "../../../domain/store.ts";
import { newId } from "../../../lib/ids.ts";
import { num, numOrNull, type PgQueryable } from "../client.ts";
import type { AsyncTtlCache, PgContext } from "../context.ts";
import { parseHeaders } from "../rows.ts";
import { newClaimToken } from "./hot-path.ts";

/** Room taken by an ingest's plan, to give back if its write does not create it. */
export type Taken = { claim: IngestClaim; deliveryId: string; webhookId: string; as: IngestTake; payloadLength: number }[];

export interface PlannedRow {
  id: string;
  webhookId: string;
  status: "pending" | "delivering";
  /** The webhook's updated_at when the plan read it: the write compares it under its lock. */
  webhookUpdatedAt: number;
  /** Claimed: the lease's length, its token, and the claim handed over (its lease set by the write). */
  leaseMs: number | null;
  claimToken: string | null;
  claim: IngestClaimed | null;
}

/** What an ingest writes, decided before its transaction. */
export interface PgIngestPlan {
  event: EventRecord;
  idempotencySince: number;
  /** The test endpoint's delivery: to its webhook whether enabled or not, whatever its events. */
  test: boolean;
  rows: PlannedRow[];
  /**
   * The enabled webhooks of the tenant as this replica's cache held them, when the plan read
   * the cache: the write checks that the tenant has no other (one created or enabled through
   * another replica since the cache was filled), so an event accepted after a webhook's 201 on
   * any replica is fanned out to it.
   */
  cached: { tenantId: string; ids: readonly string[] } | null;
}

export interface Planned {
  plan: PgIngestPlan;
  deliveries: NewDelivery[];
}

type TargetRow = {
  id: string;
  updated_at: string | number;
  enabled: boolean;
  events: string;
  url: string;
  headers: string;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: string | number | null;
};

/** A candidate as the fan-out uses it: parsed and decrypted once per tenant, not per event. */
interface Subscriber {
  id: string;
  updatedAt: number;
  enabled: boolean;
  patterns: string[];
  url: string;
  headers: Record<string, string>;
  secret: string;
  previousSecret: string | null;
  previousSecretExpiresAt: number | null;
}

const TARGET = "id, updated_at, enabled, events, url, headers, secret, previous_secret, previous_secret_expires_at";
// Only enabled ones are kept: the others get nothing but the test event, which reads its one
// webhook below.
const SUBSCRIBERS = `SELECT ${TARGET} FROM webhooks WHERE tenant_id = $1 AND enabled`;
const ONLY = `SELECT ${TARGET} FROM webhooks WHERE id = $1 AND tenant_id = $2`;

/**
 * `subscribers` is the replica's cache of each tenant's fan-out targets (cleared by its own
 * webhook writes, at most CACHE_MS old otherwise). `plan` reads through it, or, given `via` (a
 * transaction that emits an operational event), reads the tenant's webhooks in that transaction
 * and leaves the cache alone: what a transaction sees before it commits (a disable it made) must
 * not reach other ingests, in case it rolls back.
 */
export function ingestPlanner(ctx: PgContext, subscribers: AsyncTtlCache<unknown>) {
  const prepare = (w: TargetRow): Subscriber => ({
    id: w.id,
    updatedAt: num(w.updated_at),
    enabled: w.enabled,
    patterns: JSON.parse(w.events) as string[],
    url: w.url,
    headers: parseHeaders(w.headers, ctx.secrets),
    secret: ctx.secrets.decrypt(w.secret),
    previousSecret: w.previous_secret === null ? null : ctx.secrets.decrypt(w.previous_secret),
    previousSecretExpiresAt: numOrNull(w.previous_secret_expires_at),
  });
  const load = async (db: PgQueryable, tenantId: string): Promise<Subscriber[]> =>
    (await db.query<TargetRow>(SUBSCRIBERS, [tenantId])).map(prepare);

  // The ids of each cached list, computed once per list rather than once per event.
  const idsOf = new WeakMap<Subscriber[], readonly string[]>();

  async function candidatesOf(req: IngestRequest, via: PgQueryable | undefined): Promise<{ list: Subscriber[]; cached: boolean }> {
    const e = req.event;
    if (req.onlyWebhookId !== undefined) {
      const [only] = await (via ?? ctx.client).query<TargetRow>(ONLY, [req.onlyWebhookId, e.tenantId]);
      return { list: only ? [prepare(only)] : [], cached: false };
    }
    if (via !== undefined) return { list: await load(via, e.tenantId), cached: false };
    return { list: (await subscribers.get(e.tenantId, () => load(ctx.client, e.tenantId))) as Subscriber[], cached: true };
  }

  function cachedIds(list: Subscriber[]): readonly string[] {
    let ids = idsOf.get(list);
    if (ids === undefined) {
      ids = list.map((w) => w.id);
      idsOf.set(list, ids);
    }
    return ids;
  }

  /** Room taken is listed in `taken`, to be given back if the write does not create it. */
  return async function plan(req: IngestRequest, taken: Taken, via?: PgQueryable): Promise<Planned> {
    const e = req.event;
    const generation = subscribers.generation;
    const { list: candidates, cached } = await candidatesOf(req, via);
    const fanOut = planFanOut(e, candidates, { onlyWebhookId: req.onlyWebhookId, claim: req.claim });
    const rows: PlannedRow[] = [];
    const deliveries: NewDelivery[] = [];
    const t = e.createdAt;
    const claim = req.claim;
    // The caller's lease (createdAt + leaseMs); in database time the write replaces it.
    const leaseExpiresAt = fanOut.leaseExpiresAt;
    for (let i = 0; i < fanOut.to.length; i++) {
      const w = fanOut.to[i] as Subscriber;
      const id = newId("dlv", t);
      const as = fanOut.claimed[i] ?? null;
      // (claimed only with a claim and its lease: the last two tests only tell the compiler)
      if (as === null || claim === undefined || leaseExpiresAt === null) {
        rows.push({ id, webhookId: w.id, status: "pending", webhookUpdatedAt: w.updatedAt, leaseMs: null, claimToken: null, claim: null });
        deliveries.push({ id, webhookId: w.id });
        continue;
      }
      taken.push({ claim, deliveryId: id, webhookId: w.id, as, payloadLength: e.payload.length });
      const claimToken = newClaimToken(ctx.replicaId);
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
        headers: w.headers,
        secret: w.secret,
        previousSecret: w.previousSecret,
        previousSecretExpiresAt: w.previousSecretExpiresAt,
        claimToken,
      };
      const claimed: IngestClaimed = { as, delivery, leaseExpiresAt, webhookUpdatedAt: w.updatedAt, webhookGeneration: generation };
      rows.push({ id, webhookId: w.id, status: "delivering", webhookUpdatedAt: w.updatedAt, leaseMs: claim.leaseMs, claimToken, claim: claimed });
      deliveries.push({ id, webhookId: w.id, claim: claimed });
    }
    const known = cached ? { tenantId: e.tenantId, ids: cachedIds(candidates) } : null;
    return { plan: { event: e, idempotencySince: req.idempotencySince, test: req.onlyWebhookId !== undefined, rows, cached: known }, deliveries };
  };
}

export type IngestPlanner = ReturnType<typeof ingestPlanner>;
