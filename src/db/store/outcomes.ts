import type { Database } from "bun:sqlite";
import type { AttemptOutcome } from "../../domain/store.ts";
import { isOperationalType, OPERATIONAL_TYPES } from "../../domain/event-patterns.ts";
import { toIso } from "../../domain/clock.ts";
import { disabledError } from "../../domain/webhooks/render.ts";
import { webhookTouched } from "./rows.ts";

export type Emit = (tenantId: string, type: string, data: Record<string, unknown>, now: number) => void;

/** The dispatcher's side of the store: batched outcome writes, leases, failing webhooks. */
export function dispatchQueries(
  sqlite: Database,
  emit: Emit,
  relaxed: <T>(write: () => T) => T,
  webhookChanged: () => void = () => {},
) {
  const current = sqlite.query<
    { status: string; attempts_count: number; enabled: number; event_id: string; event_type: string; tenant_id: string },
    [string]
  >(
    `SELECT d.status, d.attempts_count, w.enabled, d.event_id, d.event_type, d.tenant_id
     FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id WHERE d.id = ?`,
  );
  const insertAttempt = sqlite.query<unknown, [string, number, number, number, number | null, string | null, string | null]>(
    "INSERT INTO attempts (delivery_id, n, started_at, duration_ms, status_code, response_body, error) VALUES (?, ?, ?, ?, ?, ?, ?)",
  );
  const setState = sqlite.query<unknown, [string, number, number | null, number | null, string | null, number, number, string]>(
    `UPDATE deliveries SET status = ?1, attempts_count = ?2, next_attempt_at = ?3, last_status_code = ?4,
       last_error = ?5, retry_started_at = ?6, lease_expires_at = NULL, updated_at = ?7 WHERE id = ?8`,
  );
  const succeed = sqlite.query<{ attempts_count: number }, [number | null, number, number, string]>(
    `UPDATE deliveries SET status = 'succeeded', attempts_count = attempts_count + 1, next_attempt_at = NULL,
       last_status_code = ?1, last_error = NULL, retry_started_at = ?2, lease_expires_at = NULL, updated_at = ?3
     WHERE id = ?4 RETURNING attempts_count`,
  );
  const setManual = sqlite.query<unknown, [number, number | null, string | null, number, string]>(
    `UPDATE deliveries SET attempts_count = ?1, last_status_code = ?2, last_error = ?3, updated_at = ?4 WHERE id = ?5`,
  );
  const wasFailing = sqlite.query<{ tenant_id: string; url: string; failing_since: number | null }, [string]>(
    "SELECT tenant_id, url, failing_since FROM webhooks WHERE id = ? AND (failure_count <> 0 OR failing_since IS NOT NULL)",
  );
  const webhookSucceeded = sqlite.query<unknown, [number, string]>(
    `UPDATE webhooks SET failure_count = 0, failing_since = NULL, ${webhookTouched("?1")} WHERE id = ?2`,
  );
  const webhookFailed = sqlite.query<{ failing_since: number; enabled: number }, [number, number, string]>(
    `UPDATE webhooks SET failing_since = coalesce(failing_since, ?1), failure_count = failure_count + ?2
     WHERE id = ?3 RETURNING failing_since, enabled`,
  );
  const disable = sqlite.query<
    { tenant_id: string; url: string; failure_count: number; failing_since: number | null },
    [string, number, string]
  >(
    `UPDATE webhooks SET enabled = 0, disabled_reason = ?1, ${webhookTouched("?2")} WHERE id = ?3 AND enabled = 1
     RETURNING tenant_id, url, failure_count, failing_since`,
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
  const failing = sqlite.query<{ id: string }, [number]>(
    "SELECT id FROM webhooks WHERE enabled = 1 AND failing_since IS NOT NULL AND failing_since <= ?",
  );

  function disableWebhook(id: string, reason: string, now: number): boolean {
    const w = disable.get(reason, now, id);
    if (!w) return false;
    webhookChanged();
    failPending.run(disabledError(reason), now, id);
    emit(
      w.tenant_id,
      OPERATIONAL_TYPES.webhookDisabled,
      {
        webhook_id: id,
        url: w.url,
        reason,
        failure_count: w.failure_count,
        failing_since: w.failing_since === null ? null : toIso(w.failing_since),
        disabled_at: toIso(now),
      },
      now,
    );
    return true;
  }

  function recordSuccess(o: AttemptOutcome, now: number): void {
    const a = o.attempt;
    const done = succeed.get(a.statusCode, o.retryStartedAt, now, o.deliveryId);
    if (!done) return; // deleted with its webhook while the attempt was in flight
    insertAttempt.run(o.deliveryId, done.attempts_count, a.startedAt, a.durationMs, a.statusCode, a.responseBody, null);
    const failing = wasFailing.get(o.webhookId);
    if (!failing) return;
    webhookSucceeded.run(now, o.webhookId);
    if (failing.failing_since !== null) {
      emit(
        failing.tenant_id,
        OPERATIONAL_TYPES.webhookRecovered,
        { webhook_id: o.webhookId, url: failing.url, failing_since: toIso(failing.failing_since), recovered_at: toIso(now) },
        now,
      );
    }
  }

  function recordOne(o: AttemptOutcome, now: number, disableAfterMs: number, disabled: string[]): void {
    // The common case in one write and one insert: no need to read the row first.
    if (o.result === "succeeded") {
      recordSuccess(o, now);
      return;
    }
    const row = current.get(o.deliveryId);
    if (!row) return; // deleted with its webhook while the attempt was in flight
    const n = row.attempts_count + 1;
    const a = o.attempt;
    insertAttempt.run(o.deliveryId, n, a.startedAt, a.durationMs, a.statusCode, a.responseBody, a.error);
    // What the delivery shows as last_error: the transport error, else the HTTP status.
    const failure = a.error ?? (a.statusCode !== null ? `HTTP ${a.statusCode}` : null);
    if (o.manual) {
      // A failed manual retry leaves a failed delivery failed and a pending one on its schedule.
      setManual.run(n, a.statusCode, a.error, now, o.deliveryId);
    } else {
      let status: string = o.result === "retry" ? "pending" : "failed";
      let next = o.result === "retry" ? o.nextAttemptAt : null;
      let error = failure;
      if (status === "pending" && row.enabled === 0) {
        status = "failed";
        next = null;
        error = `${error ?? "failed"}; webhook is disabled`;
      }
      setState.run(status, n, next, a.statusCode, error, o.retryStartedAt, now, o.deliveryId);
    }
    const exhausted = !o.manual && (o.result === "failed" || o.result === "gone") ? 1 : 0;
    // Not about deliveries of Hookline's own events: a dead receiver of those would otherwise
    // feed itself a new one after every exhausted retry schedule.
    if (exhausted && !isOperationalType(row.event_type)) {
      emit(
        row.tenant_id,
        OPERATIONAL_TYPES.deliveryExhausted,
        {
          delivery_id: o.deliveryId,
          webhook_id: o.webhookId,
          event_id: row.event_id,
          event_type: row.event_type,
          attempts: n,
          last_status_code: a.statusCode,
          last_error: failure,
        },
        now,
      );
    }
    const w = webhookFailed.get(a.startedAt, exhausted, o.webhookId);
    if (o.result === "gone") {
      if (disableWebhook(o.webhookId, "gone", now)) disabled.push(o.webhookId);
    } else if (w && w.enabled === 1 && w.failing_since <= now - disableAfterMs) {
      if (disableWebhook(o.webhookId, "failing", now)) disabled.push(o.webhookId);
    }
  }

  return {
    /** Synchronous, on the writer's connection: the store's recordOutcomes sends it there. */
    recordOutcomesNow(outcomes: AttemptOutcome[], now: number, disableAfterMs: number): string[] {
      const disabled: string[] = [];
      relaxed(() =>
        sqlite.transaction(() => {
          for (const o of outcomes) recordOne(o, now, disableAfterMs, disabled);
        }).immediate(),
      );
      return disabled;
    },
    async recoverExpiredLeases(now: number): Promise<number> {
      return expired.all(now).length;
    },
    async nextDueAt(): Promise<number | undefined> {
      return nextDue.get()?.at ?? undefined;
    },
    async disableFailingWebhooks(failingSinceBefore: number, now: number): Promise<string[]> {
      return sqlite
        .transaction(() => failing.all(failingSinceBefore).filter((w) => disableWebhook(w.id, "failing", now)).map((w) => w.id))
        .immediate();
    },
  };
}
