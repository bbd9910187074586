// Claims on PostgreSQL: due pending deliveries become delivering under a lease, each with a fresh
// claim token (the fence its outcome is written against, outcomes.ts), for any number of
// replicas at once. Which due deliveries a claim takes is domain/fair-share.ts's rule, as in
// SQLite's claims.ts (level by level, none past a webhook's cap, none stuck behind a capped
// backlog): the due rows are read in pages without locks, the rule picks, and one statement takes
// the picked rows that are still due and not being taken by another replica (FOR UPDATE SKIP
// LOCKED). A claim that lost rows to another replica reads the head again, which has moved on.
// Held claims (confirmHeld, releaseHeld) are claims-held.ts's.
import { enqueue, roomLeft, takeLevelled, type WebhookQueue } from "../../../domain/fair-share.ts";
import type { ClaimedDelivery, ClaimOptions } from "../../../domain/store.ts";
import { numOrNull } from "../client.ts";
import type { AsyncTtlCache, PgContext } from "../context.ts";
import { SEND_COLUMNS, type SendRow, toClaimed } from "../rows.ts";
import { heldClaimQueries } from "./claims-held.ts";
import { type HotPathOptions, leaseNow, tokenPrefix } from "./hot-path.ts";

const MAX_PROBES = 1_000;
// Rows of the head of the queue read first by a claim (more only when they leave room).
const FIRST_PAGE = 64;
// Passes of one claim at most: a pass that lost rows to another replica's claim goes again.
const MAX_PASSES = 3;

type DueRow = { id: string; webhook_id: string };

// The head of the queue in time order (deliveries_due_idx), bounded. Due times are compared with
// the caller's `now`: every next_attempt_at was written from a replica's clock (the ingest's
// created_at, an outcome's retry schedule), and "due" is what that schedule says. Leases, which
// decide who may send, are in database time (hot-path.ts).
const DUE = `SELECT id, webhook_id FROM deliveries WHERE status = 'pending' AND next_attempt_at <= $1
  ORDER BY next_attempt_at LIMIT $2 OFFSET $3`;
// One webhook's due rows (deliveries_webhook_due_idx).
const DUE_OF = `SELECT id, webhook_id FROM deliveries WHERE webhook_id = $1 AND status = 'pending' AND next_attempt_at <= $2
  ORDER BY next_attempt_at LIMIT $3`;
// The webhooks that may have due work: the enabled ones, and a disabled one with pending
// deliveries — its test events (send-test goes to a disabled webhook; the disable failed the rest).
const PROBED = `SELECT id FROM webhooks WHERE enabled
  OR EXISTS (SELECT 1 FROM deliveries WHERE webhook_id = webhooks.id AND status = 'pending')`;

/**
 * The claim itself, one statement: the picked rows still pending and due, skipping any another
 * transaction has locked (a concurrent claim, an outcome, a disable failing them), become
 * delivering under a lease from `leaseNow`, with a token of this replica's prefix and a fresh
 * UUID; what sending them needs comes back with them.
 */
function claimStatement(clock: "database" | "caller"): string {
  return `WITH c AS MATERIALIZED (
      SELECT id FROM deliveries
      WHERE id = ANY($1::text[]) AND status = 'pending' AND next_attempt_at <= $2
      FOR UPDATE SKIP LOCKED
    )
    UPDATE deliveries d SET status = 'delivering', lease_expires_at = ${leaseNow(clock, "$2")} + $3::bigint,
      claim_token = $4::text || gen_random_uuid()::text, updated_at = $2
    FROM c, events e, webhooks w
    WHERE d.id = c.id AND e.id = d.event_id AND w.id = d.webhook_id
    RETURNING ${SEND_COLUMNS}, d.claim_token`;
}

const NEXT_DUE = "SELECT min(next_attempt_at) AS at FROM deliveries WHERE status = 'pending'";

export function pgClaimQueries(ctx: PgContext, subscribers: AsyncTtlCache<unknown>, opts: HotPathOptions = {}) {
  const clock = opts.leaseClock ?? "database";
  const db = ctx.client;
  const prefix = tokenPrefix(ctx.replicaId);
  const CLAIM = claimStatement(clock);
  const RELEASE = `UPDATE deliveries SET status = 'pending', lease_expires_at = NULL, claim_token = NULL, next_attempt_at = $1,
      updated_at = $1
    WHERE id = ANY($2::text[]) AND status = 'delivering' AND starts_with(claim_token, $3)`;
  const RECOVER = `WITH r AS (
      UPDATE deliveries SET status = 'pending', lease_expires_at = NULL, claim_token = NULL, next_attempt_at = $1, updated_at = $1
      WHERE status = 'delivering' AND lease_expires_at <= ${leaseNow(clock, "$1")} RETURNING 1
    ) SELECT count(*)::int AS n FROM r`;

  // Where the search of other webhooks starts, so that the same ones are not always first.
  let rotation = 0;
  // The webhooks that filled the whole head of the queue last time, all at their cap (a hanging
  // receiver's backlog): while they stay at their cap the claim goes straight to the others.
  let headBlockedBy: Set<string> | null = null;

  /**
   * Picks from `rows` (in due order) up to the limit, shared out level by level (takeLevelled),
   * none in `seen`: those this search picked already or earlier passes tried. The pieces a search
   * reads without locks can overlap (the queue moves between the head's two pages; a webhook's
   * own rows start with those the head gave it): a row picked twice would be sent twice.
   */
  function pick(rows: DueRow[], limit: number, opts: ClaimOptions, taken: Map<string, number>, ids: string[], seen: Set<string>): void {
    const queues = new Map<string, WebhookQueue<string>>();
    for (const r of rows) if (!seen.has(r.id)) enqueue(queues, r.webhook_id, r.id);
    const picked = takeLevelled(queues, limit - ids.length, opts.perWebhookCap, opts.inflight, taken);
    for (const id of picked) seen.add(id);
    ids.push(...picked);
  }

  /** One search as SQLite's: the head of the queue, then, past a capped backlog, each webhook's own. */
  async function search(now: number, limit: number, opts: ClaimOptions, claimed: Map<string, number>, skip: Set<string>): Promise<string[]> {
    const taken = new Map(claimed);
    const ids: string[] = [];
    const seen = new Set(skip);
    const room = (id: string) => roomLeft(id, opts.perWebhookCap, opts.inflight, taken);
    const scan = Math.max(FIRST_PAGE, limit * 4) + skip.size;
    const blocked = headBlockedBy;
    const stillBlocked = blocked !== null && [...blocked].every((id) => room(id) <= 0);
    let headFull = false;
    if (!stillBlocked) {
      // A first page, then the rest of the head only if a webhook seen so far still has room.
      const first = await db.query<DueRow>(DUE, [now, FIRST_PAGE, 0]);
      pick(first, limit, opts, taken, ids, seen);
      headFull = first.length === FIRST_PAGE;
      let head = first;
      if (headFull && ids.length < limit && first.some((r) => room(r.webhook_id) > 0)) {
        const rest = await db.query<DueRow>(DUE, [now, scan - FIRST_PAGE, FIRST_PAGE]);
        pick(rest, limit, opts, taken, ids, seen);
        head = first.concat(rest);
        headFull = rest.length === scan - FIRST_PAGE;
      }
      headBlockedBy = ids.length === 0 && headFull ? new Set(head.map((r) => r.webhook_id)) : null;
    }
    if (ids.length < limit && (stillBlocked || headFull)) {
      // The head belongs to webhooks at their cap: look for due work of every other webhook
      // directly (no head-of-line blocking), bounded per claim; the rotation reaches the others.
      const hooks = await db.query<{ id: string }>(PROBED);
      const probes = Math.min(hooks.length, MAX_PROBES);
      for (let i = 0; i < probes && ids.length < limit; i++) {
        const id = (hooks[(rotation + i) % hooks.length] as { id: string }).id;
        const free = room(id);
        // Read past the rows of it this search picked from the head (they come first) and those tried.
        const read = free + (taken.get(id) ?? 0) - (claimed.get(id) ?? 0) + skip.size;
        if (free > 0) pick(await db.query<DueRow>(DUE_OF, [id, now, read]), limit, opts, taken, ids, seen);
      }
      rotation = hooks.length > 0 ? (rotation + probes) % hooks.length : 0;
    }
    return ids;
  }

  /** Takes `ids` (those still due and free), in their order, each once whatever `ids` repeats. */
  async function take(picked: string[], now: number, leaseMs: number): Promise<ClaimedDelivery[]> {
    const ids = [...new Set(picked)];
    const rows = await db.query<SendRow & { claim_token: string }>(CLAIM, [ids, now, leaseMs, prefix]);
    const byId = new Map<string, ClaimedDelivery>();
    for (const r of rows) {
      const c = toClaimed(r, ctx.secrets);
      c.claimToken = r.claim_token;
      byId.set(r.id, c);
    }
    return ids.flatMap((id) => {
      const c = byId.get(id);
      return c === undefined ? [] : [c];
    });
  }

  return {
    async claimDue(now: number, opts: ClaimOptions): Promise<ClaimedDelivery[]> {
      if (opts.limit <= 0) return [];
      const out: ClaimedDelivery[] = [];
      // What this claim took per webhook, and the rows it tried (taken, or lost to another replica).
      const claimed = new Map<string, number>();
      const tried = new Set<string>();
      for (let pass = 0; pass < MAX_PASSES && out.length < opts.limit; pass++) {
        const ids = await search(now, opts.limit - out.length, opts, claimed, tried);
        if (ids.length === 0) break;
        const got = await take(ids, now, opts.leaseMs);
        out.push(...got);
        for (const c of got) claimed.set(c.webhookId, (claimed.get(c.webhookId) ?? 0) + 1);
        // All taken: the rule's pick stands. Fewer: another replica took some meanwhile.
        if (got.length === ids.length) break;
        for (const id of ids) tried.add(id);
      }
      return out;
    },
    ...heldClaimQueries(ctx, subscribers, clock),
    async releaseClaims(deliveryIds: string[], now: number): Promise<void> {
      if (deliveryIds.length === 0) return;
      await db.query(RELEASE, [now, deliveryIds, prefix]);
    },
    /** Leases run out in database time (with leaseClock "database"): a replica's clock cannot end them early. */
    async recoverExpiredLeases(now: number): Promise<number> {
      const [r] = await db.query<{ n: number }>(RECOVER, [now]);
      return r?.n ?? 0;
    },
    async nextDueAt(): Promise<number | undefined> {
      const [r] = await db.query<{ at: unknown }>(NEXT_DUE);
      return numOrNull(r?.at) ?? undefined;
    },
  };
}
