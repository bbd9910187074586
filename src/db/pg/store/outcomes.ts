// Attempt outcomes and failing webhooks on PostgreSQL. What an outcome means is decided by
// domain/delivery-rules/outcome.ts (decideOutcome), as in SQLite's outcomes.ts; this locks the
// rows the rule reads, asks it for each outcome in order, and applies the plans.
//
// Fencing (API.md §11): an outcome carrying a claim token is applied only while its delivery
// still carries that token — read under the row's lock, and the write is conditional on it
// again. Another token (or none: the lease ran out, the sweep gave the delivery back and another
// replica claimed it) means the claim was lost: the outcome is dropped, its attempt, events and
// counters with it, so a newer outcome is never overwritten and nothing is reported twice. An
// outcome without a token (a manual send, a caller that predates tokens) follows SQLite's rules.
//
// A batch is a fixed number of statements besides its rare parts: the deliveries and the
// webhooks locked in id order (two replicas' batches never wait on each other in a cycle),
// every delivery's new state in one UPDATE and every attempt in one INSERT (unnest), the
// webhooks' counters in one UPDATE; then, outcome by outcome as the plan orders them, the
// operational events and the disables.
import {
  type DisablePlan,
  decideDisable,
  decideOutcome,
  failingTooLong,
  type OperationalEvent,
} from "../../../domain/delivery-rules/outcome.ts";
import { BIN_COLUMNS, type TalliedAttempt, tallyAttempts } from "../../../domain/stats/rollup.ts";
import type { AttemptOutcome } from "../../../domain/store.ts";
import { numOrNull, type PgQueryable } from "../client.ts";
import type { AsyncTtlCache, PgContext } from "../context.ts";
import { webhookTouched } from "../rows.ts";
import { transaction } from "./hot-path.ts";
import type { PgEmit } from "./ingest.ts";
import { type DeliveryState, deliveryStates, writeDeliveryStates } from "./outcome-rows.ts";

const LOCK_WEBHOOKS = `SELECT id, tenant_id, url, enabled, failure_count, failing_since FROM webhooks
  WHERE id = ANY($1::text[]) ORDER BY id FOR NO KEY UPDATE`;
const INSERT_ATTEMPTS = `INSERT INTO attempts (delivery_id, n, started_at, duration_ms, status_code, response_body, error)
  SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[], $4::int[], $5::int[], $6::text[], $7::text[])`;
// The stats roll-up (domain/stats/rollup.ts): tallyAttempts gives each (webhook, minute) once,
// sorted, so two replicas' batches take these rows' locks in one order. One array per column.
const STATS_COUNTERS = ["succeeded", "retried", "failed", ...BIN_COLUMNS];
const ADD_STATS = `INSERT INTO attempt_stats (webhook_id, tenant_id, minute, ${STATS_COUNTERS.join(", ")})
  SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], ${STATS_COUNTERS.map((_, i) => `$${i + 4}::int[]`).join(", ")})
  ON CONFLICT (webhook_id, minute) DO UPDATE SET
    ${STATS_COUNTERS.map((c) => `${c} = attempt_stats.${c} + excluded.${c}`).join(", ")}`;
// A recovery moves updated_at (as SQLite's webhookRecovered); a count alone does not.
const WRITE_COUNTERS = `UPDATE webhooks w SET failure_count = u.failure_count, failing_since = u.failing_since,
    updated_at = CASE WHEN u.touched THEN greatest($1::bigint, w.updated_at + 1) ELSE w.updated_at END
  FROM unnest($2::text[], $3::int[], $4::bigint[], $5::boolean[]) AS u(id, failure_count, failing_since, touched)
  WHERE w.id = u.id`;
// Only an enabled webhook is disabled: the one write that does it publishes the event.
const DISABLE = `UPDATE webhooks SET enabled = false, disabled_reason = $1, ${webhookTouched("$2")}
  WHERE id = $3 AND enabled RETURNING id`;
const FAIL_PENDING = `UPDATE deliveries SET status = 'failed', next_attempt_at = NULL, last_error = $1, updated_at = $2
  WHERE webhook_id = $3 AND status = 'pending'`;
const FAILING = `SELECT id, tenant_id, url, failure_count, failing_since FROM webhooks
  WHERE enabled AND failing_since IS NOT NULL ORDER BY id FOR NO KEY UPDATE`;

interface WebhookState {
  tenant_id: string;
  url: string;
  enabled: boolean;
  failure_count: number;
  failing_since: number | null;
  /** The counters changed in this batch; `touched`: by a recovery. */
  changed: boolean;
  touched: boolean;
}

interface Attempt {
  deliveryId: string;
  n: number;
  startedAt: number;
  durationMs: number;
  statusCode: number | null;
  responseBody: string | null;
  error: string | null;
}

/** What is applied after the rows, outcome by outcome: its events, then its disable. */
interface After {
  webhookId: string;
  events: readonly OperationalEvent[];
  disable: DisablePlan | null;
}

export function pgOutcomeQueries(ctx: PgContext, emit: PgEmit, subscribers: AsyncTtlCache<unknown>) {
  /** Applies a disable; false when the webhook was no longer enabled (nothing written or published). */
  async function applyDisable(tx: PgQueryable, d: DisablePlan, now: number): Promise<boolean> {
    if ((await tx.query(DISABLE, [d.reason, now, d.webhookId])).length === 0) return false;
    // This replica's ingests stop fanning out to it (cleared again after the commit).
    subscribers.clear();
    await tx.query(FAIL_PENDING, [d.deliveriesError, now, d.webhookId]);
    await emit(tx, d.event.tenantId, d.event.type, d.event.data, now);
    return true;
  }

  async function lockWebhooks(tx: PgQueryable, ids: string[]): Promise<Map<string, WebhookState>> {
    const rows = await tx.query<{ id: string; tenant_id: string; url: string; enabled: boolean; failure_count: number; failing_since: unknown }>(
      LOCK_WEBHOOKS,
      [ids],
    );
    const out = new Map<string, WebhookState>();
    for (const r of rows) {
      out.set(r.id, { ...r, failing_since: numOrNull(r.failing_since), changed: false, touched: false });
    }
    return out;
  }

  async function record(tx: PgQueryable, outcomes: AttemptOutcome[], now: number, disableAfterMs: number): Promise<string[]> {
    const deliveries = await deliveryStates(tx, [...new Set(outcomes.map((o) => o.deliveryId))]);
    const hooks = await lockWebhooks(tx, [...new Set(outcomes.map((o) => o.webhookId))]);
    const attempts: Attempt[] = [];
    const tallied: TalliedAttempt[] = [];
    const after: After[] = [];
    for (const o of outcomes) {
      const d = deliveries.get(o.deliveryId);
      const w = hooks.get(o.webhookId);
      // Deleted with its webhook while the attempt was in flight; or the claim was lost.
      if (d === undefined || w === undefined) continue;
      if (o.claimToken !== undefined && d.claim_token !== o.claimToken) continue;
      const plan = decideOutcome(
        o,
        { attemptsCount: d.attempts_count, eventId: d.event_id, eventType: d.event_type, tenantId: d.tenant_id },
        { tenantId: w.tenant_id, url: w.url, enabled: w.enabled, failureCount: w.failure_count, failingSince: w.failing_since },
        now,
        disableAfterMs,
      );
      applyToDelivery(d, plan.delivery);
      attempts.push({ deliveryId: o.deliveryId, ...plan.attempt });
      const a = plan.attempt;
      tallied.push({ tenantId: w.tenant_id, webhookId: o.webhookId, startedAt: a.startedAt, durationMs: a.durationMs, change: plan.delivery });
      if (plan.webhook?.kind === "recovered") Object.assign(w, { failure_count: 0, failing_since: null, changed: true, touched: true });
      else if (plan.webhook?.kind === "failing") {
        Object.assign(w, { failure_count: plan.webhook.failureCount, failing_since: plan.webhook.failingSince, changed: true });
      }
      // The next outcome of this webhook in the batch sees it disabled, as SQLite's re-read would.
      if (plan.disable !== null) w.enabled = false;
      if (plan.events.length > 0 || plan.disable !== null) after.push({ webhookId: o.webhookId, events: plan.events, disable: plan.disable });
    }
    await writeDeliveryStates(tx, deliveries, now);
    await insertAttempts(tx, attempts);
    await addStats(tx, tallied);
    await writeCounters(tx, hooks, now);
    const disabled: string[] = [];
    for (const a of after) {
      for (const e of a.events) await emit(tx, e.tenantId, e.type, e.data, now);
      if (a.disable !== null && (await applyDisable(tx, a.disable, now))) disabled.push(a.webhookId);
    }
    return disabled;
  }

  return {
    async recordOutcomes(outcomes: AttemptOutcome[], now: number, disableAfterMs: number): Promise<string[]> {
      if (outcomes.length === 0) return [];
      const disabled = await transaction(ctx.client, (tx) => record(tx, outcomes, now, disableAfterMs));
      // An ingest of this replica may have cached the tenant's webhooks before the commit.
      if (disabled.length > 0) subscribers.clear();
      return disabled;
    },

    /** The same rule as an outcome's (failingTooLong) and the same plan (decideDisable). */
    async disableFailingWebhooks(failingSinceBefore: number, now: number): Promise<string[]> {
      const disabled = await transaction(ctx.client, async (tx) => {
        const out: string[] = [];
        const rows = await tx.query<{ id: string; tenant_id: string; url: string; failure_count: number; failing_since: unknown }>(FAILING);
        for (const w of rows) {
          const failingSince = numOrNull(w.failing_since);
          if (!failingTooLong(failingSince, failingSinceBefore)) continue;
          const facts = { tenantId: w.tenant_id, url: w.url, failureCount: w.failure_count, failingSince };
          if (await applyDisable(tx, decideDisable(w.id, facts, "failing", now), now)) out.push(w.id);
        }
        return out;
      });
      if (disabled.length > 0) subscribers.clear();
      return disabled;
    },
  };
}

/** The rule's change, on the delivery's state as this batch has it (written once, at the end). */
function applyToDelivery(d: DeliveryState, c: ReturnType<typeof decideOutcome>["delivery"]): void {
  d.changed = true;
  d.attempts_count = c.attemptsCount;
  d.last_status_code = c.lastStatusCode;
  d.last_error = c.lastError;
  // A failed manual retry: the status, the schedule and any claim stay as they were.
  if (c.kind === "attempted") return;
  d.status = c.status;
  d.next_attempt_at = c.nextAttemptAt;
  d.retry_started_at = c.retryStartedAt;
  // The claim ends with its attempt: its lease and its token with it.
  d.lease_expires_at = null;
  d.claim_token = null;
}

async function insertAttempts(tx: PgQueryable, attempts: Attempt[]): Promise<void> {
  if (attempts.length === 0) return;
  await tx.query(INSERT_ATTEMPTS, [
    attempts.map((a) => a.deliveryId),
    attempts.map((a) => a.n),
    attempts.map((a) => a.startedAt),
    attempts.map((a) => a.durationMs),
    attempts.map((a) => a.statusCode),
    attempts.map((a) => a.responseBody),
    attempts.map((a) => a.error),
  ]);
}

async function addStats(tx: PgQueryable, tallied: TalliedAttempt[]): Promise<void> {
  const rows = tallyAttempts(tallied);
  if (rows.length === 0) return;
  await tx.query(ADD_STATS, [
    rows.map((r) => r.webhookId),
    rows.map((r) => r.tenantId),
    rows.map((r) => r.minute),
    rows.map((r) => r.succeeded),
    rows.map((r) => r.retried),
    rows.map((r) => r.failed),
    ...BIN_COLUMNS.map((_, j) => rows.map((r) => r.bins[j])),
  ]);
}

async function writeCounters(tx: PgQueryable, hooks: Map<string, WebhookState>, now: number): Promise<void> {
  const changed = [...hooks].filter(([, w]) => w.changed);
  if (changed.length === 0) return;
  await tx.query(WRITE_COUNTERS, [
    now,
    changed.map(([id]) => id),
    changed.map(([, w]) => w.failure_count),
    changed.map(([, w]) => w.failing_since),
    changed.map(([, w]) => w.touched),
  ]);
}
