// Steps the contract tests share, each a call or two on the `Store` port and a check that it
// did what the step needs (so a test fails where the promise it is about breaks, not later).
import { expect } from "bun:test";
import type {
  ClaimedDelivery,
  ClaimOptions,
  DeliveryRecord,
  EventRecord,
  IngestClaim,
  IngestRequest,
  IngestTake,
  NewDelivery,
  Store,
  WebhookRecord,
} from "../../src/domain/store.ts";
import { eventRecord, webhookRecord } from "./records.ts";

/** Inserts a webhook (a fresh record with `f` applied) and returns it. */
export async function subscribe(store: Store, f: Parameters<typeof webhookRecord>[0]): Promise<WebhookRecord> {
  const record = webhookRecord(f);
  expect(await store.insertWebhook(record)).toEqual({ ok: true });
  return record;
}

/** Ingests a new event (a fresh record with `f` applied), which must be created. */
export async function publish(
  store: Store,
  f: Parameters<typeof eventRecord>[0],
  req: Partial<Omit<IngestRequest, "event">> = {},
): Promise<{ event: EventRecord; deliveries: NewDelivery[] }> {
  const event = eventRecord(f);
  const res = await store.ingest({ event, idempotencySince: f.createdAt, ...req });
  if (res.kind !== "created") throw new Error(`expected the ingest to create, got ${res.kind}`);
  return { event: res.event, deliveries: res.deliveries };
}

/** One event of `type` to one new webhook subscribed to it: the delivery's id and its webhook. */
export async function oneDelivery(
  store: Store,
  at: number,
  webhook: Partial<WebhookRecord> = {},
  type = "member.added",
): Promise<{ webhook: WebhookRecord; event: EventRecord; deliveryId: string }> {
  const w = await subscribe(store, { createdAt: at, events: [type], ...webhook });
  const { event, deliveries } = await publish(store, { createdAt: at, type, tenantId: w.tenantId });
  expect(deliveries.map((d) => d.webhookId)).toEqual([w.id]);
  return { webhook: w, event, deliveryId: (deliveries[0] as NewDelivery).id };
}

export const LEASE_MS = 30_000;

/** Claims what is due at `now` with room to spare: no cap, nothing in flight. */
export function claimAll(store: Store, now: number, opts: Partial<ClaimOptions> = {}): Promise<ClaimedDelivery[]> {
  return store.claimDue(now, { limit: 1_000, leaseMs: LEASE_MS, perWebhookCap: 1_000, inflight: new Map(), ...opts });
}

/** A delivery that must exist. */
export async function deliveryOf(store: Store, id: string): Promise<DeliveryRecord> {
  const d = await store.getDelivery(id);
  if (!d) throw new Error(`delivery ${id} not found`);
  return d;
}

export async function webhookOf(store: Store, id: string): Promise<WebhookRecord> {
  const w = await store.getWebhook(id);
  if (!w) throw new Error(`webhook ${id} not found`);
  return w;
}

/** The `data` of the tenant's events of `type` (the operational ones), oldest first. */
export async function eventsOfType(store: Store, tenantId: string, type: string): Promise<Record<string, unknown>[]> {
  const events = await store.listEvents({ tenantId, type, limit: 100 });
  return events.reverse().map((e) => (JSON.parse(e.payload) as { data: Record<string, unknown> }).data);
}

/**
 * An ingest claim hook that always answers `as` (a slot, a place in the hand-off, or no room),
 * and records what it was asked to take and what it was given back.
 */
export function claimHook(as: IngestTake | undefined, leaseMs = LEASE_MS) {
  const taken: { webhookId: string; payloadLength: number }[] = [];
  const givenBack: { webhookId: string; taken: IngestTake; payloadLength: number }[] = [];
  const hook: IngestClaim = {
    leaseMs,
    take(webhookId, payloadLength) {
      taken.push({ webhookId, payloadLength });
      return as;
    },
    giveBack(webhookId, what, payloadLength) {
      givenBack.push({ webhookId, taken: what, payloadLength });
    },
  };
  return { hook, taken, givenBack };
}

/** How many of `ids` are in each status. */
export async function statuses(store: Store, ids: string[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const id of ids) {
    const s = (await deliveryOf(store, id)).status;
    out[s] = (out[s] ?? 0) + 1;
  }
  return out;
}
