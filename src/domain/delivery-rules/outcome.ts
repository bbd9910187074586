// What an attempt's result means: the delivery's next state, the attempt's row, the webhook's
// failure counters, whether the webhook is disabled, and which hookline.* operational events are
// published. Pure: a store reads the delivery and its webhook in the transaction that writes the
// outcome (under its write lock: SQLite's immediate transaction, PostgreSQL's FOR UPDATE), calls
// decideOutcome, and applies the plan with its own statements. The tables in
// test/delivery/outcome-rules.test.ts pin every rule (API.md §7, §10; DESIGN.md "Storage seam").
import { toIso } from "../clock.ts";
import { isOperationalType, OPERATIONAL_TYPES } from "../event-patterns.ts";
import type { AttemptOutcome, AttemptRecord } from "../store.ts";
import { disabledError } from "../webhooks/render.ts";

/** The delivery as it is before this attempt is recorded. */
export interface DeliveryFacts {
  attemptsCount: number;
  eventId: string;
  eventType: string;
  tenantId: string;
}

/** The webhook as it is before this attempt is recorded. */
export interface WebhookFacts {
  tenantId: string;
  url: string;
  enabled: boolean;
  /** Deliveries that ran out of retries or got 410 since the last success (not attempts). */
  failureCount: number;
  /** When the current run of failures began; null while the webhook is healthy. */
  failingSince: number | null;
}

/** A hookline.* event to publish into `tenantId`, fanned out like any event. */
export interface OperationalEvent {
  tenantId: string;
  type: string;
  data: Record<string, unknown>;
}

export type DeliveryChange =
  /** The delivery's whole state: its lease (if any) ends with the attempt. */
  | {
      kind: "state";
      status: "pending" | "succeeded" | "failed";
      attemptsCount: number;
      nextAttemptAt: number | null;
      lastStatusCode: number | null;
      lastError: string | null;
      retryStartedAt: number;
    }
  /** A failed manual retry: one more attempt shown, the status and the schedule left as they were. */
  | { kind: "attempted"; attemptsCount: number; lastStatusCode: number | null; lastError: string | null };

/** The attempt's row (its delivery is the outcome's). */
export type AttemptRow = Omit<AttemptRecord, "deliveryId">;

export type WebhookChange =
  /** A success ends the run of failures: failure_count 0, failing_since unset. */
  | { kind: "recovered" }
  | { kind: "failing"; failureCount: number; failingSince: number };

/** Disables the webhook, if it is still enabled when the store writes it. */
export interface DisablePlan {
  webhookId: string;
  reason: "gone" | "failing";
  /** The last_error of its pending deliveries, failed with it: none of them is sent any more. */
  deliveriesError: string;
  /** Published only if this disable took effect (an enabled webhook became disabled). */
  event: OperationalEvent;
}

/**
 * What the store writes, in this order: the delivery, the attempt, the webhook's counters, the
 * events, then the disable. The order is part of the rule: a webhook subscribed to its own
 * hookline.delivery.exhausted gets that delivery pending, and the disable that follows fails it
 * with the others — as a receiver's other deliveries, it is not dropped silently.
 */
export interface OutcomePlan {
  delivery: DeliveryChange;
  attempt: AttemptRow;
  /** Null when the counters stay as they are (a failure inside a run already counted). */
  webhook: WebhookChange | null;
  events: readonly OperationalEvent[];
  disable: DisablePlan | null;
}

// Shared by the plans that publish nothing (most of them): never written to.
const NO_EVENTS: readonly OperationalEvent[] = [];

/**
 * The plan for one attempt's outcome. The store calls it only for a delivery that still exists
 * (one deleted with its webhook while the attempt was in flight records nothing).
 * `disableAfterMs` is delivery.disable_after.
 */
export function decideOutcome(
  outcome: AttemptOutcome,
  delivery: DeliveryFacts,
  webhook: WebhookFacts,
  now: number,
  disableAfterMs: number,
): OutcomePlan {
  const a = outcome.attempt;
  const n = delivery.attemptsCount + 1;
  if (outcome.result === "succeeded") {
    // Any success ends the webhook's run of failures, a manual retry's too.
    const failing = webhook.failureCount !== 0 || webhook.failingSince !== null;
    return {
      delivery: {
        kind: "state",
        status: "succeeded",
        attemptsCount: n,
        nextAttemptAt: null,
        lastStatusCode: a.statusCode,
        lastError: null,
        retryStartedAt: outcome.retryStartedAt,
      },
      attempt: { n, startedAt: a.startedAt, durationMs: a.durationMs, statusCode: a.statusCode, responseBody: a.responseBody, error: null },
      webhook: failing ? { kind: "recovered" } : null,
      events: webhook.failingSince === null ? NO_EVENTS : [recovered(outcome.webhookId, webhook, webhook.failingSince, now)],
      disable: null,
    };
  }

  // What the delivery shows as last_error: the transport error, else the HTTP status.
  const failure = a.error ?? (a.statusCode !== null ? `HTTP ${a.statusCode}` : null);
  let change: DeliveryChange;
  if (outcome.manual) {
    // A failed manual retry leaves a failed delivery failed and a pending one on its schedule;
    // what it met is shown as any attempt's is.
    change = { kind: "attempted", attemptsCount: n, lastStatusCode: a.statusCode, lastError: failure };
  } else if (outcome.result === "retry" && webhook.enabled) {
    change = state("pending", n, outcome.nextAttemptAt, a.statusCode, failure, outcome.retryStartedAt);
  } else if (outcome.result === "retry") {
    // Its webhook was disabled during the attempt: the disable failed its pending deliveries,
    // and a retry scheduled now would be sent to a disabled webhook.
    change = state("failed", n, null, a.statusCode, `${failure ?? "failed"}; webhook is disabled`, outcome.retryStartedAt);
  } else {
    change = state("failed", n, null, a.statusCode, failure, outcome.retryStartedAt);
  }

  // Ran out of retries, or refused for good (410): that counts against the webhook. A manual
  // retry is one more attempt of a delivery already counted (or still scheduled), never one more.
  const exhausted = !outcome.manual && (outcome.result === "failed" || outcome.result === "gone");
  // The run of failures begins with the first failed attempt since the last success.
  const failingSince = webhook.failingSince ?? a.startedAt;
  const failureCount = webhook.failureCount + (exhausted ? 1 : 0);

  // Not about deliveries of Hookline's own events: a dead receiver of those would otherwise feed
  // itself a new one after every exhausted retry schedule.
  const events =
    exhausted && !isOperationalType(delivery.eventType)
      ? [
          {
            tenantId: delivery.tenantId,
            type: OPERATIONAL_TYPES.deliveryExhausted,
            data: {
              delivery_id: outcome.deliveryId,
              webhook_id: outcome.webhookId,
              event_id: delivery.eventId,
              event_type: delivery.eventType,
              attempts: n,
              last_status_code: a.statusCode,
              last_error: failure,
            },
          },
        ]
      : NO_EVENTS;

  const reason = disableReason(outcome.result, webhook.enabled, failingSince, now - disableAfterMs);
  const changed = failureCount !== webhook.failureCount || failingSince !== webhook.failingSince;
  return {
    delivery: change,
    attempt: {
      n,
      startedAt: a.startedAt,
      durationMs: a.durationMs,
      statusCode: a.statusCode,
      responseBody: a.responseBody,
      error: a.error,
    },
    webhook: changed ? { kind: "failing", failureCount, failingSince } : null,
    events,
    // The event reports the counters as this plan leaves them.
    disable: reason === null ? null : decideDisable(outcome.webhookId, { ...webhook, failureCount, failingSince }, reason, now),
  };
}

/** Why the webhook is disabled after a failed attempt, if it is. */
function disableReason(
  result: AttemptOutcome["result"],
  enabled: boolean,
  failingSince: number,
  cutoff: number,
): "gone" | "failing" | null {
  // Already disabled (a PATCH during the attempt, an earlier outcome in the same batch): it stays
  // as it is, and nothing more is published about it.
  if (!enabled) return null;
  // 410 is the receiver's explicit, permanent refusal: disabled at once, whatever its history.
  if (result === "gone") return "gone";
  return failingTooLong(failingSince, cutoff) ? "failing" : null;
}

/**
 * delivery.disable_after: a webhook whose run of failures began at or before `cutoff` (now minus
 * disable_after) has failed for too long and is disabled. The sweep asks the same of every
 * failing webhook, so one that gets no more attempts (all its deliveries failed) is disabled too.
 */
export function failingTooLong(failingSince: number | null, cutoff: number): boolean {
  return failingSince !== null && failingSince <= cutoff;
}

/**
 * Disabling a webhook: why, what its pending deliveries fail with, and the
 * hookline.webhook.disabled event with the webhook's counters as they are once disabled.
 */
export function decideDisable(
  webhookId: string,
  webhook: Pick<WebhookFacts, "tenantId" | "url" | "failureCount" | "failingSince">,
  reason: "gone" | "failing",
  now: number,
): DisablePlan {
  return {
    webhookId,
    reason,
    deliveriesError: disabledError(reason),
    event: {
      tenantId: webhook.tenantId,
      type: OPERATIONAL_TYPES.webhookDisabled,
      data: {
        webhook_id: webhookId,
        url: webhook.url,
        reason,
        failure_count: webhook.failureCount,
        failing_since: webhook.failingSince === null ? null : toIso(webhook.failingSince),
        disabled_at: toIso(now),
      },
    },
  };
}

/** hookline.webhook.recovered: the first success after a run of failures that began at `failingSince`. */
function recovered(webhookId: string, webhook: WebhookFacts, failingSince: number, now: number): OperationalEvent {
  return {
    tenantId: webhook.tenantId,
    type: OPERATIONAL_TYPES.webhookRecovered,
    data: {
      webhook_id: webhookId,
      url: webhook.url,
      failing_since: toIso(failingSince),
      recovered_at: toIso(now),
    },
  };
}

function state(
  status: "pending" | "failed",
  attemptsCount: number,
  nextAttemptAt: number | null,
  lastStatusCode: number | null,
  lastError: string | null,
  retryStartedAt: number,
): DeliveryChange {
  return { kind: "state", status, attemptsCount, nextAttemptAt, lastStatusCode, lastError, retryStartedAt };
}
