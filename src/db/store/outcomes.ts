// The dispatcher's side of the store: attempt outcomes, leases, failing webhooks. What an
// outcome means is decided by domain/delivery-rules/outcome.ts; this reads the rows the rule
// needs, in the write transaction, and applies its plan.
import type { Database } from "bun:sqlite";
import {
  type DeliveryChange,
  type DisablePlan,
  decideDisable,
  decideOutcome,
  failingTooLong,
  type OutcomePlan,
} from "../../domain/delivery-rules/outcome.ts";
import { BIN_COLUMNS, type TalliedAttempt, tallyAttempts } from "../../domain/stats/rollup.ts";
import type { AttemptOutcome } from "../../domain/store.ts";
import { webhookTouched } from "./rows.ts";

/** What a batch's outcomes did: the webhooks disabled, and the attempts for the stats roll-up. */
interface Done {
  disabled: string[];
  tallied: TalliedAttempt[];
}

export type Emit = (tenantId: string, type: string, data: Record<string, unknown>, now: number) => void;

export function dispatchQueries(
  sqlite: Database,
  emit: Emit,
  relaxed: <T>(write: () => T) => T,
  webhookChanged: () => void = () => {},
) {
  // What the rule reads: the delivery and its webhook, each by its primary key. Two lookups, not
  // a join: through bun:sqlite the join measured ~5 µs more per outcome, about what the rest of
  // a success costs (its update and its attempt's insert).
  const deliveryFacts = sqlite.query<
    { attempts_count: number; event_id: string; event_type: string; tenant_id: string },
    [string]
  >("SELECT attempts_count, event_id, event_type, tenant_id FROM deliveries WHERE id = ?");
  const webhookFacts = sqlite.query<
    { tenant_id: string; url: string; enabled: number; failure_count: number; failing_since: number | null },
    [string]
  >("SELECT tenant_id, url, enabled, failure_count, failing_since FROM webhooks WHERE id = ?");
  const insertAttempt = sqlite.query<unknown, [string, number, number, number, number | null, string | null, string | null]>(
    "INSERT INTO attempts (delivery_id, n, started_at, duration_ms, status_code, response_body, error) VALUES (?, ?, ?, ?, ?, ?, ?)",
  );
  // The stats roll-up (domain/stats/rollup.ts): a batch's rows, one per (webhook, minute), added
  // in one statement from a JSON array of [webhook_id, tenant_id, minute, succeeded, retried,
  // failed, b0 … b31] — its column order.
  const statsColumns = ["webhook_id", "tenant_id", "minute", "succeeded", "retried", "failed", ...BIN_COLUMNS];
  const counters = statsColumns.slice(3);
  const addStats = sqlite.query<unknown, [string]>(
    `INSERT INTO attempt_stats (${statsColumns.join(", ")})
     SELECT ${statsColumns.map((_, i) => `value ->> ${i}`).join(", ")} FROM json_each(?1) WHERE true
     ON CONFLICT (webhook_id, minute) DO UPDATE SET ${counters.map((c) => `${c} = ${c} + excluded.${c}`).join(", ")}`,
  );
  const setState = sqlite.query<unknown, [string, number, number | null, number | null, string | null, number, number, string]>(
    `UPDATE deliveries SET status = ?1, attempts_count = ?2, next_attempt_at = ?3, last_status_code = ?4,
       last_error = ?5, retry_started_at = ?6, lease_expires_at = NULL, updated_at = ?7 WHERE id = ?8`,
  );
  const setAttempted = sqlite.query<unknown, [number, number | null, string | null, number, string]>(
    `UPDATE deliveries SET attempts_count = ?1, last_status_code = ?2, last_error = ?3, updated_at = ?4 WHERE id = ?5`,
  );
  const webhookRecovered = sqlite.query<unknown, [number, string]>(
    `UPDATE webhooks SET failure_count = 0, failing_since = NULL, ${webhookTouched("?1")} WHERE id = ?2`,
  );
  const webhookFailing = sqlite.query<unknown, [number, number, string]>(
    "UPDATE webhooks SET failure_count = ?1, failing_since = ?2 WHERE id = ?3",
  );
  // Only an enabled webhook is disabled: the one write that does it publishes the event.
  const disable = sqlite.query<unknown, [string, number, string]>(
    `UPDATE webhooks SET enabled = 0, disabled_reason = ?1, ${webhookTouched("?2")} WHERE id = ?3 AND enabled = 1`,
  );
  const failPending = sqlite.query<unknown, [string, number, string]>(
    `UPDATE deliveries SET status = 'failed', next_attempt_at = NULL, last_error = ?1, updated_at = ?2
     WHERE webhook_id = ?3 AND status = 'pending'`,
  );
  const expired = sqlite.query<{ id: string }, [number]>(
    `UPDATE deliveries SET status = 'pending', lease_expires_at = NULL, next_attempt_at = ?1, updated_at = ?1
     WHERE status = 'delivering' AND lease_expires_at <= ?1 RETURNING id`,
  );
  const nextDue = sqlite.query<{ at: number | null }, []>(
    "SELECT min(next_attempt_at) AS at FROM deliveries WHERE status = 'pending'",
  );
  const failing = sqlite.query<
    { id: string; tenant_id: string; url: string; failure_count: number; failing_since: number | null },
    []
  >("SELECT id, tenant_id, url, failure_count, failing_since FROM webhooks WHERE enabled = 1 AND failing_since IS NOT NULL");

  /** Applies a disable; false when the webhook was no longer enabled (nothing written or published). */
  function applyDisable(d: DisablePlan, now: number): boolean {
    if (disable.run(d.reason, now, d.webhookId).changes === 0) return false;
    webhookChanged();
    failPending.run(d.deliveriesError, now, d.webhookId);
    emit(d.event.tenantId, d.event.type, d.event.data, now);
    return true;
  }

  function applyDelivery(id: string, c: DeliveryChange, now: number): void {
    if (c.kind === "state") {
      setState.run(c.status, c.attemptsCount, c.nextAttemptAt, c.lastStatusCode, c.lastError, c.retryStartedAt, now, id);
    } else setAttempted.run(c.attemptsCount, c.lastStatusCode, c.lastError, now, id);
  }

  /** In the plan's order (OutcomePlan says why it matters). */
  function apply(o: AttemptOutcome, plan: OutcomePlan, tenantId: string, now: number, done: Done): void {
    applyDelivery(o.deliveryId, plan.delivery, now);
    const a = plan.attempt;
    insertAttempt.run(o.deliveryId, a.n, a.startedAt, a.durationMs, a.statusCode, a.responseBody, a.error);
    done.tallied.push({ tenantId, webhookId: o.webhookId, startedAt: a.startedAt, durationMs: a.durationMs, change: plan.delivery });
    const w = plan.webhook;
    if (w?.kind === "recovered") webhookRecovered.run(now, o.webhookId);
    else if (w?.kind === "failing") webhookFailing.run(w.failureCount, w.failingSince, o.webhookId);
    for (const e of plan.events) emit(e.tenantId, e.type, e.data, now);
    if (plan.disable !== null && applyDisable(plan.disable, now)) done.disabled.push(o.webhookId);
  }

  function recordOne(o: AttemptOutcome, now: number, disableAfterMs: number, done: Done): void {
    const d = deliveryFacts.get(o.deliveryId);
    const w = d && webhookFacts.get(o.webhookId);
    if (!d || !w) return; // deleted with its webhook while the attempt was in flight
    const delivery = { attemptsCount: d.attempts_count, eventId: d.event_id, eventType: d.event_type, tenantId: d.tenant_id };
    const webhook = {
      tenantId: w.tenant_id,
      url: w.url,
      enabled: w.enabled === 1,
      failureCount: w.failure_count,
      failingSince: w.failing_since,
    };
    apply(o, decideOutcome(o, delivery, webhook, now, disableAfterMs), w.tenant_id, now, done);
  }

  return {
    /** Synchronous, on the writer's connection: the store's recordOutcomes sends it there. */
    recordOutcomesNow(outcomes: AttemptOutcome[], now: number, disableAfterMs: number): string[] {
      const done: Done = { disabled: [], tallied: [] };
      relaxed(() =>
        sqlite.transaction(() => {
          for (const o of outcomes) recordOne(o, now, disableAfterMs, done);
          const rows = tallyAttempts(done.tallied);
          if (rows.length > 0) {
            addStats.run(
              JSON.stringify(rows.map((r) => [r.webhookId, r.tenantId, r.minute, r.succeeded, r.retried, r.failed, ...r.bins])),
            );
          }
        }).immediate(),
      );
      return done.disabled;
    },
    async recoverExpiredLeases(now: number): Promise<number> {
      return expired.all(now).length;
    },
    async nextDueAt(): Promise<number | undefined> {
      return nextDue.get()?.at ?? undefined;
    },
    /** The same rule as an outcome's (failingTooLong) and the same plan (decideDisable). */
    async disableFailingWebhooks(failingSinceBefore: number, now: number): Promise<string[]> {
      return sqlite
        .transaction(() =>
          failing
            .all()
            .filter((w) => failingTooLong(w.failing_since, failingSinceBefore))
            .filter((w) => {
              const facts = { tenantId: w.tenant_id, url: w.url, failureCount: w.failure_count, failingSince: w.failing_since };
              return applyDisable(decideDisable(w.id, facts, "failing", now), now);
            })
            .map((w) => w.id),
        )
        .immediate();
    },
  };
}
