// Held claims on PostgreSQL: deliveries an ingest claimed and held for this replica (the
// dispatcher's hand-off), confirmed once a slot is free or given back. What becomes of each is
// domain/delivery-rules/held.ts's (checkHeld, heldRefusal), as in SQLite's claims.ts; whether the
// claim is still the ingest's is the claim token (a fence: the lease recovered and claimed again
// elsewhere carries another). Each call is a fixed number of statements, whatever it holds.
import { checkHeld, type HeldCheck, heldRefusal } from "../../../domain/delivery-rules/held.ts";
import type { ClaimedDelivery, IngestClaimed, NewDelivery } from "../../../domain/store.ts";
import type { PgQueryable } from "../client.ts";
import { type AsyncTtlCache, CACHE_MS, type PgContext } from "../context.ts";
import { type SendRow, toClaimed } from "../rows.ts";
import { type LeaseClock, leaseNow, transaction } from "./hot-path.ts";

// A held claim is sent as the ingest prepared it for this long at most: the subscriber cache's
// lifetime, so a change made through another replica cannot be missed for longer than an
// ingest would miss it; older, it is checked against the database first.
const FRESH_MS = CACHE_MS;

// The webhook's columns a send needs (the delivery's own are as the ingest wrote them, and its
// event's payload is immutable: both are taken from what the ingest prepared).
const SEND_WEBHOOK = `w.url, w.headers, w.secret, w.previous_secret, w.previous_secret_expires_at`;

type Reread = Pick<SendRow, "url" | "headers" | "secret" | "previous_secret" | "previous_secret_expires_at"> & {
  id: string;
  enabled: boolean;
  disabled_reason: string | null;
};

type HookState = { enabled: boolean; disabledReason: string | null } | undefined;

export function heldClaimQueries(ctx: PgContext, subscribers: AsyncTtlCache<unknown>, clock: LeaseClock) {
  const now$ = leaseNow(clock, "$1");
  // Renewed only while the claim is still the ingest's and its webhook is the row the ingest read.
  const RENEW_IF_UNCHANGED = `UPDATE deliveries d SET lease_expires_at = ${now$} + $2::bigint, updated_at = $1
    FROM unnest($3::text[], $4::text[], $5::bigint[]) AS u(id, token, webhook_updated_at), webhooks w
    WHERE d.id = u.id AND d.status = 'delivering' AND d.claim_token = u.token
      AND w.id = d.webhook_id AND w.updated_at = u.webhook_updated_at
    RETURNING d.id`;
  // Renewed while still the ingest's, and read again with the webhook as it is now.
  const RENEW_AND_READ = `UPDATE deliveries d SET lease_expires_at = ${now$} + $2::bigint, updated_at = $1
    FROM unnest($3::text[], $4::text[]) AS u(id, token), webhooks w
    WHERE d.id = u.id AND d.status = 'delivering' AND d.claim_token = u.token AND w.id = d.webhook_id
    RETURNING d.id, ${SEND_WEBHOOK}, w.enabled, w.disabled_reason`;
  // FOR SHARE: a disable waits for this commit, and then fails the ones made pending here.
  const STATES = "SELECT id, enabled, disabled_reason FROM webhooks WHERE id = ANY($1::text[]) ORDER BY id FOR SHARE";
  const RELEASE = `UPDATE deliveries d SET status = 'pending', lease_expires_at = NULL, claim_token = NULL, next_attempt_at = $1,
      updated_at = $1
    FROM unnest($2::text[], $3::text[]) AS u(id, token)
    WHERE d.id = u.id AND d.status = 'delivering' AND d.claim_token = u.token`;
  // A held delivery whose webhook was disabled after the ingest: failed, as the disable did to the
  // pending ones (if the claim is still the ingest's).
  const FAIL = `UPDATE deliveries d SET status = 'failed', lease_expires_at = NULL, claim_token = NULL, next_attempt_at = NULL,
      last_error = u.error, updated_at = $1
    FROM unnest($2::text[], $3::text[], $4::text[]) AS u(id, token, error)
    WHERE d.id = u.id AND d.status = 'delivering' AND d.claim_token = u.token`;

  const tokenOf = (c: IngestClaimed) => c.delivery.claimToken ?? "";

  async function fail(tx: PgQueryable, refused: { c: IngestClaimed; error: string }[], now: number): Promise<void> {
    if (refused.length === 0) return;
    await tx.query(FAIL, [now, refused.map((r) => r.c.delivery.id), refused.map((r) => tokenOf(r.c)), refused.map((r) => r.error)]);
  }

  return {
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
      return transaction(ctx.client, async (tx) => {
        const confirmed = new Map<string, ClaimedDelivery>();
        const unchanged = check.filter((x) => x.as === "if-unchanged").map((x) => x.c);
        if (unchanged.length > 0) {
          const rows = await tx.query<{ id: string }>(RENEW_IF_UNCHANGED, [
            now,
            leaseMs,
            unchanged.map((c) => c.delivery.id),
            unchanged.map(tokenOf),
            unchanged.map((c) => c.webhookUpdatedAt),
          ]);
          const renewed = new Set(rows.map((r) => r.id));
          for (const c of unchanged) if (renewed.has(c.delivery.id)) confirmed.set(c.delivery.id, c.delivery);
        }
        const reread = check.filter((x) => !confirmed.has(x.c.delivery.id)).map((x) => x.c);
        if (reread.length > 0) {
          const rows = await tx.query<Reread>(RENEW_AND_READ, [now, leaseMs, reread.map((c) => c.delivery.id), reread.map(tokenOf)]);
          const byId = new Map(rows.map((r) => [r.id, r]));
          const refused: { c: IngestClaimed; error: string }[] = [];
          for (const c of reread) {
            const r = byId.get(c.delivery.id);
            if (r === undefined) continue; // gone, or no longer ours
            const error = heldRefusal(c.delivery.eventType, { enabled: r.enabled, disabledReason: r.disabled_reason });
            if (error !== undefined) {
              refused.push({ c, error });
              continue;
            }
            const d = c.delivery;
            const row: SendRow = {
              id: d.id,
              event_id: d.eventId,
              webhook_id: d.webhookId,
              tenant_id: d.tenantId,
              event_type: d.eventType,
              status: d.status,
              attempts_count: d.attemptsCount,
              retry_base: d.retryBase,
              retry_started_at: d.retryStartedAt,
              created_at: d.createdAt,
              payload: d.payload,
              url: r.url,
              headers: r.headers,
              secret: r.secret,
              previous_secret: r.previous_secret,
              previous_secret_expires_at: r.previous_secret_expires_at,
            };
            // Decrypted inside the transaction: a secret that cannot be read rolls it back.
            const fresh = toClaimed(row, ctx.secrets);
            fresh.claimToken = tokenOf(c);
            confirmed.set(d.id, fresh);
          }
          await fail(tx, refused, now);
        }
        for (const { c } of check) {
          const d = confirmed.get(c.delivery.id);
          if (d !== undefined) out.push(d);
        }
        return out;
      });
    },

    async releaseHeld(held: NewDelivery[], now: number): Promise<void> {
      const claims = held.flatMap((d) => (d.claim ? [d.claim] : []));
      if (claims.length === 0) return;
      await transaction(ctx.client, async (tx) => {
        const states = new Map<string, HookState>();
        const hookIds = [...new Set(claims.map((c) => c.delivery.webhookId))];
        for (const s of await tx.query<{ id: string; enabled: boolean; disabled_reason: string | null }>(STATES, [hookIds])) {
          states.set(s.id, { enabled: s.enabled, disabledReason: s.disabled_reason });
        }
        const refused: { c: IngestClaimed; error: string }[] = [];
        const released: IngestClaimed[] = [];
        for (const c of claims) {
          // Pending again would let a claim send it to a webhook disabled while it was held.
          const error = heldRefusal(c.delivery.eventType, states.get(c.delivery.webhookId));
          if (error !== undefined) refused.push({ c, error });
          else released.push(c);
        }
        await fail(tx, refused, now);
        if (released.length > 0) await tx.query(RELEASE, [now, released.map((c) => c.delivery.id), released.map(tokenOf)]);
      });
    },
  };
}
