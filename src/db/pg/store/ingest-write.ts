// The write side of PostgreSQL ingests: a batch of plans (ingest-plan.ts) in the caller's
// transaction, in a fixed number of statements whatever the batch size — arrays bound once and
// unnested, never a bind parameter per value:
//   1. keys older than their window are forgotten (the old event keeps its history);
//   2. the planned webhooks are locked FOR SHARE: a disable (or any change) waits for this
//      commit, so it then sees, and fails, the deliveries written here; one committed before is
//      seen here, and each delivery whose webhook changed since the plan is decided again by
//      recheckPlanned (domain/delivery-rules/fan-out.ts);
//   3. the events, ON CONFLICT (tenant_id, idempotency_key) DO NOTHING: the ones it returns are
//      created; a key another ingest holds (committed, or this batch's own) is not;
//   4. the created events' deliveries;
//   5. the event owning each key this batch did not get, read back: a replay or a conflict.
// Between 2 and 3, plans made from the replica's cache of a tenant's webhooks are checked
// against the table: a tenant with an enabled webhook the cache did not hold (created or
// enabled through another replica less than CACHE_MS ago) has its plans answered `stale`, to be
// planned again from a fresh read. The check runs in this transaction, after every commit that
// answered before the ingest began, so a webhook's 201 on any replica comes before the fan-out
// of every event accepted after it.
import { recheckPlanned } from "../../../domain/delivery-rules/fan-out.ts";
import type { EventRecord } from "../../../domain/store.ts";
import { DB_NOW_MS, num, type PgQueryable } from "../client.ts";
import { type EventRow, toEvent } from "../rows.ts";
import type { LeaseClock } from "./hot-path.ts";
import type { PgIngestPlan } from "./ingest-plan.ts";

/** What the write of a plan found (as SQLite's ingest-writer.ts). */
export type IngestWritten =
  /**
   * Created; deliveries whose webhook changed after the plan read it were left out (`skipped`:
   * deleted, disabled, no longer subscribed) or written pending instead of claimed (`pending`:
   * sent only after a claim reads the webhook as it is now).
   */
  | { kind: "created"; skipped: string[]; pending: string[] }
  | { kind: "replay"; event: EventRecord; deliveries: number }
  | { kind: "conflict"; event: EventRecord }
  /** Its key was taken, but the event holding it was gone (or its key cleared) by the read: write it again. */
  | { kind: "vanished" }
  /** Planned from a cache that missed an enabled webhook of the tenant: plan it again, then write. */
  | { kind: "stale"; tenantId: string };

const FORGET_STALE_KEYS = `UPDATE events e SET idempotency_key = NULL
  FROM unnest($1::text[], $2::text[], $3::bigint[]) AS k(tenant_id, key, since)
  WHERE e.tenant_id = k.tenant_id AND e.idempotency_key = k.key AND e.created_at < k.since`;

// ORDER BY id: rows are locked in the order sorted, so two batches never wait on each other in a cycle.
const LOCK_WEBHOOKS = `SELECT id, enabled, updated_at, events FROM webhooks WHERE id = ANY($1::text[]) ORDER BY id FOR SHARE`;

function insertEvents(clock: LeaseClock): string {
  // In database time the claimed deliveries' lease starts from the database's clock, read here.
  const returning = clock === "database" ? `id, ${DB_NOW_MS} AS db_now` : "id";
  return `INSERT INTO events (id, tenant_id, type, payload, payload_format, idempotency_key, request_hash, created_at)
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bigint[])
    ON CONFLICT (tenant_id, idempotency_key) DO NOTHING RETURNING ${returning}`;
}

const INSERT_DELIVERIES = `INSERT INTO deliveries (id, event_id, webhook_id, tenant_id, event_type, status, next_attempt_at,
    lease_expires_at, claim_token, created_at, updated_at)
  SELECT id, event_id, webhook_id, tenant_id, event_type, status, next_at, lease, token, at, at
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::bigint[], $9::text[],
    $10::bigint[]) AS u(id, event_id, webhook_id, tenant_id, event_type, status, next_at, lease, token, at)`;

const KEY_OWNERS = `SELECT e.id, e.tenant_id, e.type, e.payload, e.payload_format, e.idempotency_key, e.request_hash, e.created_at,
    (SELECT count(*)::int FROM deliveries d WHERE d.event_id = e.id) AS deliveries
  FROM events e JOIN unnest($1::text[], $2::text[]) AS k(tenant_id, key)
    ON e.tenant_id = k.tenant_id AND e.idempotency_key = k.key`;

// Enabled webhooks of the given tenants that are not among the ids their plans knew.
const UNKNOWN_SUBSCRIBERS = `SELECT DISTINCT w.tenant_id FROM webhooks w
  JOIN unnest($1::text[]) AS t(tenant_id) ON w.tenant_id = t.tenant_id
  WHERE w.enabled AND NOT (w.id = ANY($2::text[]))`;

type HookNow = {
  enabled: boolean;
  updated_at: string | number;
  events: string;
};

const keyOf = (tenantId: string, key: string) => `${tenantId}\u0000${key}`;

/** Writes `plans` inside `tx` (the caller's transaction); one answer per plan, in order. */
export async function writeIngests(tx: PgQueryable, plans: readonly PgIngestPlan[], clock: LeaseClock): Promise<IngestWritten[]> {
  const keyed = plans.filter((p) => p.event.idempotencyKey !== null);
  if (keyed.length > 0) {
    await tx.query(FORGET_STALE_KEYS, [
      keyed.map((p) => p.event.tenantId),
      keyed.map((p) => p.event.idempotencyKey),
      keyed.map((p) => p.idempotencySince),
    ]);
  }

  const hookIds = new Set<string>();
  for (const p of plans) for (const r of p.rows) hookIds.add(r.webhookId);
  const hooks = new Map<string, HookNow>();
  if (hookIds.size > 0) {
    for (const h of await tx.query<HookNow & { id: string }>(LOCK_WEBHOOKS, [[...hookIds]])) hooks.set(h.id, h);
  }

  const stale = await staleTenants(tx, plans);
  if (stale.size > 0) {
    const answers: (IngestWritten | null)[] = plans.map((p) => (p.cached !== null && stale.has(p.cached.tenantId) ? { kind: "stale", tenantId: p.cached.tenantId } : null));
    const fresh = plans.filter((_, i) => answers[i] === null);
    const written = fresh.length > 0 ? await writeIngests(tx, fresh.map((p) => ({ ...p, cached: null })), clock) : [];
    let j = 0;
    return answers.map((a) => a ?? (written[j++] as IngestWritten));
  }

  // Keyed events first, in key order: two batches racing on the same keys then wait on each
  // other in one order, not in a cycle; a key twice in this batch goes to the first of them.
  const order = [...keyed].sort(byKey).concat(plans.filter((p) => p.event.idempotencyKey === null));
  const inserted = await tx.query<{ id: string; db_now?: unknown }>(insertEvents(clock), eventColumns(order));
  const created = new Set(inserted.map((r) => r.id));
  const dbNow = inserted[0]?.db_now === undefined ? null : num(inserted[0].db_now);

  const out: (IngestWritten | null)[] = plans.map((p) => (created.has(p.event.id) ? deliveriesOf(p, hooks, dbNow, clock) : null));
  await insertDeliveries(tx, plans, out);

  const missing = plans.filter((_, i) => out[i] === null);
  if (missing.length > 0) {
    const owners = new Map<string, EventRow & { deliveries: number }>();
    const rows = await tx.query<EventRow & { deliveries: number }>(KEY_OWNERS, [
      missing.map((p) => p.event.tenantId),
      missing.map((p) => p.event.idempotencyKey),
    ]);
    for (const r of rows) owners.set(keyOf(r.tenant_id, r.idempotency_key ?? ""), r);
    for (const [i, p] of plans.entries()) {
      if (out[i] !== null) continue;
      const e = p.event;
      const prior = e.idempotencyKey === null ? undefined : owners.get(keyOf(e.tenantId, e.idempotencyKey));
      // Every conflict after the stale keys were forgotten is within the window: a key raced by
      // two replicas makes one event, whatever the other replica's clock wrote as created_at.
      if (prior === undefined) out[i] = { kind: "vanished" };
      else if (prior.request_hash !== e.requestHash) out[i] = { kind: "conflict", event: toEvent(prior) };
      else out[i] = { kind: "replay", event: toEvent(prior), deliveries: prior.deliveries };
    }
  }
  return out as IngestWritten[];
}

/** The tenants (of plans made from the cache) that have an enabled webhook their plans did not know. */
async function staleTenants(tx: PgQueryable, plans: readonly PgIngestPlan[]): Promise<Set<string>> {
  const known = new Map<string, Set<string>>();
  for (const p of plans) {
    if (p.cached === null) continue;
    const ids = known.get(p.cached.tenantId) ?? new Set<string>();
    known.set(p.cached.tenantId, ids);
    for (const id of p.cached.ids) ids.add(id);
  }
  if (known.size === 0) return new Set();
  const allIds = [...known.values()].flatMap((ids) => [...ids]);
  const rows = await tx.query<{ tenant_id: string }>(UNKNOWN_SUBSCRIBERS, [[...known.keys()], allIds]);
  return new Set(rows.map((r) => r.tenant_id));
}

function byKey(a: PgIngestPlan, b: PgIngestPlan): number {
  const x = a.event;
  const y = b.event;
  if (x.tenantId !== y.tenantId) return x.tenantId < y.tenantId ? -1 : 1;
  const kx = x.idempotencyKey ?? "";
  const ky = y.idempotencyKey ?? "";
  return kx === ky ? 0 : kx < ky ? -1 : 1; // (sort is stable: the first of a key stays first)
}

function eventColumns(plans: readonly PgIngestPlan[]): unknown[][] {
  const cols: unknown[][] = [[], [], [], [], [], [], [], []];
  for (const { event: e } of plans) {
    cols[0]?.push(e.id);
    cols[1]?.push(e.tenantId);
    cols[2]?.push(e.type);
    cols[3]?.push(e.payload);
    cols[4]?.push(e.payloadFormat);
    cols[5]?.push(e.idempotencyKey);
    cols[6]?.push(e.requestHash);
    cols[7]?.push(e.createdAt);
  }
  return cols;
}

/**
 * The fate of a created event's planned deliveries: each whose webhook is not the row the plan
 * read (every change moves updated_at, rows.ts webhookTouched) is decided again as it is now.
 * Sets the claimed ones' lease (in database time: from the database's clock).
 */
function deliveriesOf(p: PgIngestPlan, hooks: Map<string, HookNow>, dbNow: number | null, clock: LeaseClock): IngestWritten {
  const skipped: string[] = [];
  const pending: string[] = [];
  for (const r of p.rows) {
    const h = hooks.get(r.webhookId);
    if (h === undefined || num(h.updated_at) !== r.webhookUpdatedAt) {
      const current = h === undefined ? null : { enabled: h.enabled, patterns: JSON.parse(h.events) as string[] };
      const fate = recheckPlanned(r.status, current, p.event.type, p.test);
      if (fate === "skip") skipped.push(r.id);
      else if (fate === "pending") pending.push(r.id);
    }
    if (r.claim !== null && clock === "database" && dbNow !== null && r.leaseMs !== null) {
      r.claim.leaseExpiresAt = dbNow + r.leaseMs;
    }
  }
  return { kind: "created", skipped, pending };
}

async function insertDeliveries(tx: PgQueryable, plans: readonly PgIngestPlan[], written: readonly (IngestWritten | null)[]): Promise<void> {
  const cols: unknown[][] = [[], [], [], [], [], [], [], [], [], []];
  for (const [i, p] of plans.entries()) {
    const w = written[i];
    if (w?.kind !== "created") continue;
    const e = p.event;
    const skipped = w.skipped.length > 0 ? new Set(w.skipped) : null;
    const pending = w.pending.length > 0 ? new Set(w.pending) : null;
    for (const r of p.rows) {
      if (skipped?.has(r.id)) continue;
      const claimed = r.claim !== null && !pending?.has(r.id);
      cols[0]?.push(r.id);
      cols[1]?.push(e.id);
      cols[2]?.push(r.webhookId);
      cols[3]?.push(e.tenantId);
      cols[4]?.push(e.type);
      cols[5]?.push(claimed ? "delivering" : "pending");
      cols[6]?.push(claimed ? null : e.createdAt);
      cols[7]?.push(claimed ? r.claim?.leaseExpiresAt : null);
      cols[8]?.push(claimed ? r.claimToken : null);
      cols[9]?.push(e.createdAt);
    }
  }
  if ((cols[0]?.length ?? 0) > 0) await tx.query(INSERT_DELIVERIES, cols);
}
