// The deliveries an outcome batch changes (outcomes.ts): read under their row locks, changed in
// memory outcome by outcome as the rule says, and written back once, all in one UPDATE. A
// delivery named twice in one batch (a manual retry beside the dispatcher's attempt) is then
// written once, with the state of its last outcome, and its attempts numbered one after the other.
import { numOrNull, type PgQueryable } from "../client.ts";
import type { DeliveryStatus } from "../../../domain/store.ts";

export interface DeliveryState {
  status: DeliveryStatus;
  attempts_count: number;
  next_attempt_at: number | null;
  retry_started_at: number | null;
  lease_expires_at: number | null;
  claim_token: string | null;
  last_status_code: number | null;
  last_error: string | null;
  event_id: string;
  event_type: string;
  tenant_id: string;
  /** The token as read under the lock: the write is conditional on it still being there. */
  fence: string | null;
  changed: boolean;
}

type Row = Omit<DeliveryState, "next_attempt_at" | "retry_started_at" | "lease_expires_at" | "fence" | "changed"> & {
  id: string;
  next_attempt_at: unknown;
  retry_started_at: unknown;
  lease_expires_at: unknown;
};

// FOR NO KEY UPDATE (what the UPDATE below takes anyway), in id order: outcomes of two
// replicas' batches lock in one order; a claim skips these rows (SKIP LOCKED), a disable's
// failing of pending deliveries waits for this commit.
const LOCK = `SELECT id, status, attempts_count, next_attempt_at, retry_started_at, lease_expires_at, claim_token,
    last_status_code, last_error, event_id, event_type, tenant_id
  FROM deliveries WHERE id = ANY($1::text[]) ORDER BY id FOR NO KEY UPDATE`;

const WRITE = `UPDATE deliveries d SET status = u.status, attempts_count = u.attempts_count, next_attempt_at = u.next_attempt_at,
    last_status_code = u.last_status_code, last_error = u.last_error, retry_started_at = u.retry_started_at,
    lease_expires_at = u.lease_expires_at, claim_token = u.claim_token, updated_at = $1
  FROM unnest($2::text[], $3::text[], $4::text[], $5::int[], $6::bigint[], $7::int[], $8::text[], $9::bigint[], $10::bigint[],
    $11::text[]) AS u(id, fence, status, attempts_count, next_attempt_at, last_status_code, last_error, retry_started_at,
    lease_expires_at, claim_token)
  WHERE d.id = u.id AND d.claim_token IS NOT DISTINCT FROM u.fence`;

export async function deliveryStates(tx: PgQueryable, ids: string[]): Promise<Map<string, DeliveryState>> {
  const out = new Map<string, DeliveryState>();
  for (const r of await tx.query<Row>(LOCK, [ids])) {
    out.set(r.id, {
      status: r.status,
      attempts_count: r.attempts_count,
      next_attempt_at: numOrNull(r.next_attempt_at),
      retry_started_at: numOrNull(r.retry_started_at),
      lease_expires_at: numOrNull(r.lease_expires_at),
      claim_token: r.claim_token,
      last_status_code: r.last_status_code,
      last_error: r.last_error,
      event_id: r.event_id,
      event_type: r.event_type,
      tenant_id: r.tenant_id,
      fence: r.claim_token,
      changed: false,
    });
  }
  return out;
}

export async function writeDeliveryStates(tx: PgQueryable, states: Map<string, DeliveryState>, now: number): Promise<void> {
  const changed = [...states].filter(([, d]) => d.changed);
  if (changed.length === 0) return;
  const col = <T>(f: (d: DeliveryState) => T) => changed.map(([, d]) => f(d));
  await tx.query(WRITE, [
    now,
    changed.map(([id]) => id),
    col((d) => d.fence),
    col((d) => d.status),
    col((d) => d.attempts_count),
    col((d) => d.next_attempt_at),
    col((d) => d.last_status_code),
    col((d) => d.last_error),
    col((d) => d.retry_started_at),
    col((d) => d.lease_expires_at),
    col((d) => d.claim_token),
  ]);
}
