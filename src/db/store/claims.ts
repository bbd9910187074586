import type { Database } from "bun:sqlite";
import { checkHeld, type HeldCheck, heldRefusal } from "../../domain/delivery-rules/held.ts";
import { enqueue, roomLeft, takeLevelled, type WebhookQueue } from "../../domain/fair-share.ts";
import type { SecretBox } from "../../domain/secret-box.ts";
import type { ClaimedDelivery, ClaimOptions, IngestClaimed, NewDelivery } from "../../domain/store.ts";
import { SUBSCRIBER_TTL_MS, type SubscriberCache } from "./cache.ts";
import { SEND_COLUMNS, SEND_JOIN, type SendRow, toClaimed } from "./rows.ts";

const MAX_PROBES = 1_000;
// Rows of the head of the queue read first by a claim (more only when they leave room).
const FIRST_PAGE = 64;
// A held claim is sent as the ingest prepared it for this long at most: the subscriber cache's
// lifetime, so a change made by another process cannot be missed for longer than an ingest
// would miss it; older, it is checked against the database first.
const FRESH_MS = SUBSCRIBER_TTL_MS;

/**
 * Claims: pending → delivering under a lease. Which due deliveries a claim takes is
 * domain/fair-share.ts's rule (takeLevelled: level by level, none past a webhook's cap); what
 * becomes of a held claim is domain/delivery-rules/held.ts's. This reads the due rows in pages
 * so that the rule sees every webhook with due work, and writes. Every statement here is a range
 * or primary-key lookup: a claim runs after every wake-up, so it must cost the same with ten
 * pending rows or a million.
 */
export function claimQueries(
  sqlite: Database,
  secrets: SecretBox,
  relaxed: <T>(write: () => T) => T,
  subscribers: SubscriberCache,
  claim: (ids: string[], now: number, leaseMs: number) => Promise<ClaimedDelivery[]>,
) {
  // The head of the queue in time order (deliveries_due_idx), bounded.
  const due = sqlite.query<{ id: string; webhook_id: string }, [number, number, number]>(
    `SELECT id, webhook_id FROM deliveries WHERE status = 'pending' AND next_attempt_at <= ?1
     ORDER BY next_attempt_at LIMIT ?2 OFFSET ?3`,
  );
  // One webhook's due rows (deliveries_webhook_due_idx).
  const dueOf = sqlite.query<{ id: string; webhook_id: string }, [string, number, number]>(
    `SELECT id, webhook_id FROM deliveries WHERE webhook_id = ?1 AND status = 'pending' AND next_attempt_at <= ?2
     ORDER BY next_attempt_at LIMIT ?3`,
  );
  // The webhooks that may have due work: the enabled ones, and a disabled one with pending
  // deliveries — its test events (send-test goes to a disabled webhook; the disable failed the
  // rest). One index probe per disabled webhook (deliveries_webhook_due_idx).
  const probed = sqlite.query<{ id: string }, []>(
    `SELECT id FROM webhooks WHERE enabled = 1
       OR EXISTS (SELECT 1 FROM deliveries WHERE webhook_id = webhooks.id AND status = 'pending')`,
  );
  const loadOne = sqlite.query<SendRow, [string]>(`SELECT ${SEND_COLUMNS} FROM ${SEND_JOIN} WHERE d.id = ?`);
  // Renews a claim an ingest held for this process, if the lease is still the ingest's (no sweep
  // recovered it, nobody else claimed it) and, for the first, the webhook is as the ingest read it.
  const renewIfCurrent = sqlite.query<{ id: string }, [number, number, string, number, number]>(
    `UPDATE deliveries SET lease_expires_at = ?1, updated_at = ?2
     WHERE id = ?3 AND status = 'delivering' AND lease_expires_at = ?4
       AND (SELECT updated_at FROM webhooks WHERE id = deliveries.webhook_id) = ?5 RETURNING id`,
  );
  const renew = sqlite.query<{ id: string }, [number, number, string, number]>(
    `UPDATE deliveries SET lease_expires_at = ?1, updated_at = ?2
     WHERE id = ?3 AND status = 'delivering' AND lease_expires_at = ?4 RETURNING id`,
  );
  const webhookState = sqlite.query<{ enabled: number; disabled_reason: string | null }, [string]>(
    "SELECT enabled, disabled_reason FROM webhooks WHERE id = ?",
  );
  const releaseHeldOne = sqlite.query<unknown, [number, string, number]>(
    `UPDATE deliveries SET status = 'pending', lease_expires_at = NULL, next_attempt_at = ?1, updated_at = ?1
     WHERE id = ?2 AND status = 'delivering' AND lease_expires_at = ?3`,
  );
  // A held delivery whose webhook was disabled after the ingest: failed, as the disable did to
  // the pending ones (if the lease is still the one given).
  const failHeld = sqlite.query<unknown, [string, number, string, number]>(
    `UPDATE deliveries SET status = 'failed', lease_expires_at = NULL, next_attempt_at = NULL, last_error = ?1,
       updated_at = ?2 WHERE id = ?3 AND status = 'delivering' AND lease_expires_at = ?4`,
  );

  type HookState = { enabled: boolean; disabledReason: string | null } | undefined;
  /** heldRefusal for a held delivery, each webhook read once per call (`states`). */
  function refusalOf(c: IngestClaimed, states: Map<string, HookState>): string | undefined {
    const id = c.delivery.webhookId;
    if (!states.has(id)) {
      const hook = webhookState.get(id);
      states.set(id, hook ? { enabled: hook.enabled === 1, disabledReason: hook.disabled_reason } : undefined);
    }
    return heldRefusal(c.delivery.eventType, states.get(id));
  }
  const releaseOne = sqlite.query<unknown, [number, string]>(
    `UPDATE deliveries SET status = 'pending', lease_expires_at = NULL, next_attempt_at = ?1, updated_at = ?1
     WHERE id = ?2 AND status = 'delivering'`,
  );

  // Where the search of other webhooks starts, so that the same ones are not always first.
  let rotation = 0;
  // The webhooks that filled the whole head of the queue last time, all at their cap (a hanging
  // receiver's backlog). While they stay at their cap the head cannot give anything, so the
  // claim goes straight to the other webhooks instead of reading those rows again.
  let headBlockedBy: Set<string> | null = null;

  /** Picks from `rows` (in due order) up to the limit, shared out level by level (takeLevelled). */
  function pick(
    rows: { id: string; webhook_id: string }[],
    opts: ClaimOptions,
    taken: Map<string, number>,
    ids: string[],
  ): void {
    const queues = new Map<string, WebhookQueue<string>>();
    for (const r of rows) enqueue(queues, r.webhook_id, r.id);
    ids.push(...takeLevelled(queues, opts.limit - ids.length, opts.perWebhookCap, opts.inflight, taken));
  }

  return {
    async claimDue(now: number, opts: ClaimOptions): Promise<ClaimedDelivery[]> {
      if (opts.limit <= 0) return [];
      // Read first, outside a write transaction: most searches of a busy dispatcher find nothing
      // to take (its webhooks at their cap), and then nothing is written or committed. The claim
      // below still checks each row is pending, so a row taken meanwhile is skipped.
      const taken = new Map<string, number>();
      const ids: string[] = [];
      const room = (id: string) => roomLeft(id, opts.perWebhookCap, opts.inflight, taken);
      const scan = Math.max(FIRST_PAGE, opts.limit * 4);
      const blocked = headBlockedBy;
      const stillBlocked = blocked !== null && [...blocked].every((id) => room(id) <= 0);
      let headFull = false;
      if (!stillBlocked) {
        // A first page, then the rest of the head only if a webhook seen so far still has room:
        // with one busy webhook at its cap, a whole head of its rows would give nothing.
        const first = due.all(now, FIRST_PAGE, 0);
        pick(first, opts, taken, ids);
        headFull = first.length === FIRST_PAGE;
        let head = first;
        if (headFull && ids.length < opts.limit && first.some((r) => room(r.webhook_id) > 0)) {
          const rest = due.all(now, scan - FIRST_PAGE, FIRST_PAGE);
          pick(rest, opts, taken, ids);
          head = first.concat(rest);
          headFull = rest.length === scan - FIRST_PAGE;
        }
        headBlockedBy = ids.length === 0 && headFull ? new Set(head.map((r) => r.webhook_id)) : null;
      }
      if (ids.length < opts.limit && (stillBlocked || headFull)) {
        // The head of the queue belongs to webhooks at their cap (a slow receiver's backlog):
        // look for due work of every other webhook directly, so it is not stuck behind them
        // (no head-of-line blocking). Bounded per claim; the rotation reaches the others on the
        // next wake-ups.
        const hooks = probed.all();
        const probes = Math.min(hooks.length, MAX_PROBES);
        for (let i = 0; i < probes && ids.length < opts.limit; i++) {
          const id = (hooks[(rotation + i) % hooks.length] as { id: string }).id;
          const free = room(id);
          if (free > 0) pick(dueOf.all(id, now, free), opts, taken, ids);
        }
        rotation = hooks.length > 0 ? (rotation + probes) % hooks.length : 0;
      }
      if (ids.length === 0) return [];
      return claim(ids, now, opts.leaseMs);
    },
    async confirmHeld(held: NewDelivery[], now: number, leaseMs: number): Promise<ClaimedDelivery[]> {
      const out: ClaimedDelivery[] = [];
      const check: { c: IngestClaimed; as: HeldCheck }[] = [];
      for (const d of held) {
        const c = d.claim;
        if (c === undefined) continue;
        const as = checkHeld(c, subscribers.generation, now, FRESH_MS);
        if (as === "as-prepared") out.push(c.delivery);
        else check.push({ c, as });
      }
      if (check.length === 0) return out;
      const states = new Map<string, HookState>();
      return relaxed(() =>
        sqlite.transaction(() => {
          for (const { c, as } of check) {
            const { id } = c.delivery;
            if (as === "if-unchanged" && renewIfCurrent.get(now + leaseMs, now, id, c.leaseExpiresAt, c.webhookUpdatedAt)) {
              out.push(c.delivery);
              continue;
            }
            if (!renew.get(now + leaseMs, now, id, c.leaseExpiresAt)) continue; // gone, or no longer ours
            const refused = refusalOf(c, states);
            if (refused !== undefined) {
              failHeld.run(refused, now, id, now + leaseMs);
              continue;
            }
            const row = loadOne.get(id);
            // Decrypted inside the transaction: a secret that cannot be read rolls it back.
            if (row) out.push(toClaimed(row, secrets));
          }
          return out;
        }).immediate(),
      );
    },
    async releaseHeld(held: NewDelivery[], now: number): Promise<void> {
      const claims = held.flatMap((d) => (d.claim ? [d.claim] : []));
      if (claims.length === 0) return;
      const states = new Map<string, HookState>();
      relaxed(() =>
        sqlite.transaction(() => {
          for (const c of claims) {
            // Pending again would let a claim send it to a webhook disabled while it was held.
            const refused = refusalOf(c, states);
            if (refused !== undefined) failHeld.run(refused, now, c.delivery.id, c.leaseExpiresAt);
            else releaseHeldOne.run(now, c.delivery.id, c.leaseExpiresAt);
          }
        }).immediate(),
      );
    },
    async releaseClaims(deliveryIds: string[], now: number): Promise<void> {
      if (deliveryIds.length === 0) return;
      relaxed(() =>
        sqlite.transaction(() => {
          for (const id of deliveryIds) releaseOne.run(now, id);
        })(),
      );
    },
  };
}

/**
 * The write of a claim (on the writer's connection): marks `ids` delivering under a lease, in
 * one relaxed transaction, and reads what sending them needs; ids no longer due are skipped.
 */
export function claimWriter(sqlite: Database, secrets: SecretBox, relaxed: <T>(write: () => T) => T) {
  // Still due: the rows were read outside this transaction, and another process may have
  // claimed, tried and rescheduled one meanwhile.
  const claimOne = sqlite.query<{ id: string }, [number, number, string]>(
    `UPDATE deliveries SET status = 'delivering', lease_expires_at = ?1, updated_at = ?2
     WHERE id = ?3 AND status = 'pending' AND next_attempt_at <= ?2 RETURNING id`,
  );
  const loadOne = sqlite.query<SendRow, [string]>(`SELECT ${SEND_COLUMNS} FROM ${SEND_JOIN} WHERE d.id = ?`);
  return (ids: string[], now: number, leaseMs: number): ClaimedDelivery[] =>
    relaxed(() =>
      sqlite
        .transaction(() => {
          const out: ClaimedDelivery[] = [];
          for (const id of ids) {
            if (!claimOne.get(now + leaseMs, now, id)) continue;
            const row = loadOne.get(id);
            // Decrypted inside the transaction: a secret that cannot be read rolls the claim back.
            if (row) out.push(toClaimed(row, secrets));
          }
          return out;
        })
        .immediate(),
    );
}
