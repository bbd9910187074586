// The read side of an ingest: the candidate webhooks (the tenant's subscribers, cached, or the
// test endpoint's one), the fan-out plan (domain/delivery-rules/fan-out.ts decides), an id per
// delivery, and what a claimed delivery needs to be sent. Runs before the write, on the thread
// that owns the claim.
import type { Database } from "bun:sqlite";
import { planFanOut } from "../../domain/delivery-rules/fan-out.ts";
import type { SecretBox } from "../../domain/secret-box.ts";
import type { ClaimedDelivery, EventRecord, IngestClaim, IngestRequest, IngestTake, NewDelivery } from "../../domain/store.ts";
import { newId } from "../../lib/ids.ts";
import type { TtlCache } from "./cache.ts";
import { parseHeaders } from "./rows.ts";

/** Room taken by an ingest's plan, to give back if its write does not create it. */
export type Taken = { claim: IngestClaim; deliveryId: string; webhookId: string; as: IngestTake; payloadLength: number }[];

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

export interface Planned {
  plan: IngestPlan;
  deliveries: NewDelivery[];
}

interface Target {
  id: string;
  updated_at: number;
  enabled: number;
  events: string;
  url: string;
  headers: string;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: number | null;
}

/** A candidate as the fan-out uses it: parsed and decrypted once per tenant, not per event. */
interface Subscriber extends Omit<Target, "enabled"> {
  enabled: boolean;
  patterns: string[];
  parsedHeaders: Record<string, string>;
  plainSecret: string;
  plainPrevious: string | null;
}

/** Room taken is listed in `taken`, to be given back if the write does not create it. */
export function ingestPlanner(sqlite: Database, secrets: SecretBox, cache: TtlCache<unknown>) {
  const TARGET = "id, updated_at, enabled, events, url, headers, secret, previous_secret, previous_secret_expires_at";
  // Only enabled ones are cached: the others get nothing (receives) but the test event, which
  // reads its one webhook below.
  const subscribers = sqlite.query<Target, [string]>(`SELECT ${TARGET} FROM webhooks WHERE tenant_id = ? AND enabled = 1`);
  const webhookOf = sqlite.query<Target, [string, string]>(`SELECT ${TARGET} FROM webhooks WHERE id = ? AND tenant_id = ?`);

  const prepare = (w: Target): Subscriber => ({
    ...w,
    enabled: w.enabled === 1,
    patterns: JSON.parse(w.events) as string[],
    parsedHeaders: parseHeaders(w.headers, secrets),
    plainSecret: secrets.decrypt(w.secret),
    plainPrevious: w.previous_secret === null ? null : secrets.decrypt(w.previous_secret),
  });
  const subscribersOf = (tenantId: string): Subscriber[] =>
    cache.get(tenantId, () => subscribers.all(tenantId).map(prepare)) as Subscriber[];

  return function plan(req: IngestRequest, taken: Taken): Planned {
    const e = req.event;
    let candidates: Subscriber[];
    if (req.onlyWebhookId !== undefined) {
      const only = webhookOf.get(req.onlyWebhookId, e.tenantId);
      candidates = only ? [prepare(only)] : [];
    } else candidates = subscribersOf(e.tenantId);
    const fanOut = planFanOut(e, candidates, { onlyWebhookId: req.onlyWebhookId, claim: req.claim });
    const rows: IngestPlan["rows"] = [];
    const deliveries: NewDelivery[] = [];
    const t = e.createdAt;
    const generation = cache.generation;
    const claim = req.claim;
    const leaseExpiresAt = fanOut.leaseExpiresAt;
    for (let i = 0; i < fanOut.to.length; i++) {
      const w = fanOut.to[i] as Subscriber;
      const id = newId("dlv", t);
      const as = fanOut.claimed[i] ?? null;
      // (claimed only with a claim and its lease: the last two tests only tell the compiler)
      if (as === null || claim === undefined || leaseExpiresAt === null) {
        rows.push({ id, webhookId: w.id, status: "pending", leaseExpiresAt: null, webhookUpdatedAt: w.updated_at });
        deliveries.push({ id, webhookId: w.id });
        continue;
      }
      taken.push({ claim, deliveryId: id, webhookId: w.id, as, payloadLength: e.payload.length });
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
    return { plan: { event: e, idempotencySince: req.idempotencySince, test: req.onlyWebhookId !== undefined, rows }, deliveries };
  };
}
