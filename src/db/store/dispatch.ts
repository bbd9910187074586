import type { Database } from "bun:sqlite";
import type { SecretBox } from "../../domain/secret-box.ts";
import type { AttemptOutcome, ClaimedDelivery, ClaimOptions } from "../../domain/store.ts";
import { isOperationalType, OPERATIONAL_TYPES } from "../../domain/event-patterns.ts";
import { toIso } from "../../domain/clock.ts";
import { disabledError } from "../../domain/webhooks/render.ts";
import { SEND_COLUMNS, SEND_JOIN, type SendRow, toClaimed } from "./rows.ts";

/** The dispatcher's side of the store: claims under a lease and batched outcome writes. */
export type Emit = (tenantId: string, type: string, data: Record<string, unknown>, now: number) => void;

export function dispatchQueries(sqlite: Database, secrets: SecretBox, emit: Emit) {
  const due = sqlite.query<{ id: string; webhook_id: string }, [number, string, number]>(
    `SELECT id, webhook_id FROM deliveries
     WHERE status = 'pending' AND next_attempt_at <= ?1
       AND webhook_id NOT IN (SELECT value FROM json_each(?2))
     ORDER BY next_attempt_at LIMIT ?3`,
  );
  const claim = sqlite.query<unknown, [number, number, string]>(
    `UPDATE deliveries SET status = 'delivering', lease_expires_at = ?1, updated_at = ?2
     WHERE id IN (SELECT value FROM json_each(?3)) AND status = 'pending'`,
  );
  const claimed = sqlite.query<SendRow, [string]>(
    `SELECT ${SEND_COLUMNS} FROM ${SEND_JOIN} WHERE d.id IN (SELECT value FROM json_each(?1)) ORDER BY d.next_attempt_at`,
  );
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
  const setManual = sqlite.query<unknown, [number, number | null, string | null, number, string]>(
    `UPDATE deliveries SET attempts_count = ?1, last_status_code = ?2, last_error = ?3, updated_at = ?4 WHERE id = ?5`,
  );
  const wasFailing = sqlite.query<{ tenant_id: string; url: string; failing_since: number | null }, [string]>(
    "SELECT tenant_id, url, failing_since FROM webhooks WHERE id = ? AND (failure_count <> 0 OR failing_since IS NOT NULL)",
  );
  const webhookSucceeded = sqlite.query<unknown, [number, string]>(
    "UPDATE webhooks SET failure_count = 0, failing_since = NULL, updated_at = ?1 WHERE id = ?2",
  );
  const webhookFailed = sqlite.query<{ failing_since: number; enabled: number }, [number, number, string]>(
    `UPDATE webhooks SET failing_since = coalesce(failing_since, ?1), failure_count = failure_count + ?2
     WHERE id = ?3 RETURNING failing_since, enabled`,
  );
  const disable = sqlite.query<
    { tenant_id: string; url: string; failure_count: number; failing_since: number | null },
    [string, number, string]
  >(
    `UPDATE webhooks SET enabled = 0, disabled_reason = ?1, updated_at = ?2 WHERE id = ?3 AND enabled = 1
     RETURNING tenant_id, url, failure_count, failing_since`,
  );
  const failPending = sqlite.query<unknown, [string, number, string]>(
    `UPDATE deliveries SET status = 'failed', next_attempt_at = NULL, last_error = ?1, updated_at = ?2
     WHERE webhook_id = ?3 AND status = 'pending'`,
  );
  const release = sqlite.query<unknown, [number, string]>(
    `UPDATE deliveries SET status = 'pending', lease_expires_at = NULL, next_attempt_at = ?1, updated_at = ?1
     WHERE id IN (SELECT value FROM json_each(?2)) AND status = 'delivering'`,
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

  function recordOne(o: AttemptOutcome, now: number, disableAfterMs: number, disabled: string[]): void {
    const row = current.get(o.deliveryId);
    if (!row) return; // deleted with its webhook while the attempt was in flight
    const n = row.attempts_count + 1;
    const a = o.attempt;
    insertAttempt.run(o.deliveryId, n, a.startedAt, a.durationMs, a.statusCode, a.responseBody, a.error);
    const ok = o.result === "succeeded";
    // What the delivery shows as last_error: the transport error, else the HTTP status.
    const failure = ok ? null : (a.error ?? (a.statusCode !== null ? `HTTP ${a.statusCode}` : null));
    if (o.manual && !ok) {
      // A failed manual retry leaves a failed delivery failed and a pending one on its schedule.
      setManual.run(n, a.statusCode, a.error, now, o.deliveryId);
    } else {
      let status: string = ok ? "succeeded" : o.result === "retry" ? "pending" : "failed";
      let next = o.result === "retry" ? o.nextAttemptAt : null;
      let error = failure;
      if (status === "pending" && row.enabled === 0) {
        status = "failed";
        next = null;
        error = `${error ?? "failed"}; webhook is disabled`;
      }
      setState.run(status, n, next, a.statusCode, error, o.retryStartedAt, now, o.deliveryId);
    }
    if (ok) {
      const failing = wasFailing.get(o.webhookId);
      if (failing) {
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
      return;
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
    async claimDue(now: number, opts: ClaimOptions): Promise<ClaimedDelivery[]> {
      if (opts.limit <= 0) return [];
      const saturated = [...opts.inflight].filter(([, n]) => n >= opts.perWebhookCap).map(([id]) => id);
      return sqlite
        .transaction(() => {
          // Look a little further than the limit, so one webhook at its cap does not hide others.
          const candidates = due.all(now, JSON.stringify(saturated), Math.max(64, opts.limit * 4));
          const taken = new Map<string, number>();
          const ids: string[] = [];
          for (const c of candidates) {
            if (ids.length >= opts.limit) break;
            const used = (opts.inflight.get(c.webhook_id) ?? 0) + (taken.get(c.webhook_id) ?? 0);
            if (used >= opts.perWebhookCap) continue;
            taken.set(c.webhook_id, (taken.get(c.webhook_id) ?? 0) + 1);
            ids.push(c.id);
          }
          if (ids.length === 0) return [];
          const json = JSON.stringify(ids);
          claim.run(now + opts.leaseMs, now, json);
          // Decrypted inside the transaction: a secret that cannot be read rolls the claim back.
          return claimed.all(json).map((r) => toClaimed(r, secrets));
        })
        .immediate();
    },
    async recordOutcomes(outcomes: AttemptOutcome[], now: number, disableAfterMs: number): Promise<string[]> {
      const disabled: string[] = [];
      sqlite.transaction(() => {
        for (const o of outcomes) recordOne(o, now, disableAfterMs, disabled);
      }).immediate();
      return disabled;
    },
    async releaseClaims(deliveryIds: string[], now: number): Promise<void> {
      if (deliveryIds.length > 0) release.run(now, JSON.stringify(deliveryIds));
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
