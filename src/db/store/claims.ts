import type { Database } from "bun:sqlite";
import { enqueue, takeLevelled, type WebhookQueue } from "../../domain/fair-share.ts";
import type { SecretBox } from "../../domain/secret-box.ts";
import type { ClaimedDelivery, ClaimOptions, NewDelivery } from "../../domain/store.ts";
import { SEND_COLUMNS, SEND_JOIN, type SendRow, toClaimed } from "./rows.ts";

const MAX_PROBES = 1_000;

/**
 * Claims: pending → delivering under a lease. Every statement here is a range or primary-key
 * lookup: a claim runs after every wake-up, so it must cost the same with ten pending rows or
 * a million.
 */
export function claimQueries(sqlite: Database, secrets: SecretBox, relaxed: <T>(write: () => T) => T) {
  // The head of the queue in time order (deliveries_due_idx), bounded.
  const due = sqlite.query<{ id: string; webhook_id: string }, [number, number]>(
    `SELECT id, webhook_id FROM deliveries WHERE status = 'pending' AND next_attempt_at <= ?1
     ORDER BY next_attempt_at LIMIT ?2`,
  );
  // One webhook's due rows (deliveries_webhook_due_idx).
  const dueOf = sqlite.query<{ id: string; webhook_id: string }, [string, number, number]>(
    `SELECT id, webhook_id FROM deliveries WHERE webhook_id = ?1 AND status = 'pending' AND next_attempt_at <= ?2
     ORDER BY next_attempt_at LIMIT ?3`,
  );
  const enabledWebhooks = sqlite.query<{ id: string }, []>("SELECT id FROM webhooks WHERE enabled = 1");
  const claimOne = sqlite.query<{ id: string }, [number, number, string]>(
    `UPDATE deliveries SET status = 'delivering', lease_expires_at = ?1, updated_at = ?2
     WHERE id = ?3 AND status = 'pending' RETURNING id`,
  );
  const loadOne = sqlite.query<SendRow, [string]>(`SELECT ${SEND_COLUMNS} FROM ${SEND_JOIN} WHERE d.id = ?`);
  // Claims only if the webhook is as it was when the delivery was prepared in memory.
  const claimIfCurrent = sqlite.query<{ id: string }, [number, number, string, number]>(
    `UPDATE deliveries SET status = 'delivering', lease_expires_at = ?1, updated_at = ?2
     WHERE id = ?3 AND status = 'pending'
       AND (SELECT updated_at FROM webhooks WHERE id = deliveries.webhook_id) = ?4 RETURNING id`,
  );
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

  /** Marks `ids` claimed and reads what sending them needs; ids no longer pending are skipped. */
  function claimIds(ids: string[], now: number, leaseMs: number): ClaimedDelivery[] {
    const out: ClaimedDelivery[] = [];
    for (const id of ids) {
      if (!claimOne.get(now + leaseMs, now, id)) continue;
      const row = loadOne.get(id);
      // Decrypted inside the transaction: a secret that cannot be read rolls the claim back.
      if (row) out.push(toClaimed(row, secrets));
    }
    return out;
  }

  return {
    async claimDue(now: number, opts: ClaimOptions): Promise<ClaimedDelivery[]> {
      if (opts.limit <= 0) return [];
      return relaxed(() =>
        sqlite.transaction(() => {
          const scan = Math.max(64, opts.limit * 4);
          const blocked = headBlockedBy;
          const stillBlocked = blocked !== null && [...blocked].every((id) => (opts.inflight.get(id) ?? 0) >= opts.perWebhookCap);
          const head = stillBlocked ? [] : due.all(now, scan);
          const taken = new Map<string, number>();
          const ids: string[] = [];
          pick(head, opts, taken, ids);
          if (!stillBlocked) headBlockedBy = ids.length === 0 && head.length === scan ? new Set(head.map((r) => r.webhook_id)) : null;
          if (ids.length < opts.limit && (stillBlocked || head.length === scan)) {
            // The head of the queue belongs to webhooks at their cap (a slow receiver's
            // backlog): look for due work of every other webhook directly, so it is not
            // stuck behind them (no head-of-line blocking).
            // Bounded per claim; the rotation reaches the others on the next wake-ups.
            const hooks = enabledWebhooks.all();
            const probes = Math.min(hooks.length, MAX_PROBES);
            for (let i = 0; i < probes && ids.length < opts.limit; i++) {
              const id = (hooks[(rotation + i) % hooks.length] as { id: string }).id;
              const free = opts.perWebhookCap - (opts.inflight.get(id) ?? 0) - (taken.get(id) ?? 0);
              if (free > 0) pick(dueOf.all(id, now, free), opts, taken, ids);
            }
            rotation = hooks.length > 0 ? (rotation + probes) % hooks.length : 0;
          }
          return ids.length === 0 ? [] : claimIds(ids, now, opts.leaseMs);
        }).immediate(),
      );
    },
    /** Claims these fresh deliveries (the in-memory hand-off after an ingest commit). */
    async claimByIds(deliveries: NewDelivery[], now: number, leaseMs: number): Promise<ClaimedDelivery[]> {
      if (deliveries.length === 0) return [];
      return relaxed(() =>
        sqlite.transaction(() => {
          const out: ClaimedDelivery[] = [];
          const reread: string[] = [];
          for (const d of deliveries) {
            const p = d.prepared;
            // What the ingest prepared is still true: one write, nothing to read back.
            if (p && claimIfCurrent.get(now + leaseMs, now, d.id, p.webhookUpdatedAt)) {
              out.push({ ...p.delivery, status: "delivering" });
            } else reread.push(d.id);
          }
          out.push(...claimIds(reread, now, leaseMs));
          return out;
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
