// What an attempt's result means (src/domain/delivery-rules/outcome.ts), table by table: the
// delivery's next state, the webhook's failure counters, the disable (410, disable_after), and
// the hookline.* events with their data. Pure: no store, no clock but NOW.
import { describe, expect, test } from "bun:test";
import {
  type DeliveryFacts,
  decideDisable,
  decideOutcome,
  failingTooLong,
  type WebhookFacts,
} from "../../src/domain/delivery-rules/outcome.ts";
import type { AttemptOutcome, AttemptResult } from "../../src/domain/store.ts";

const NOW = Date.UTC(2024, 0, 15, 12, 0, 0);
const DAY = 86_400_000;
const DISABLE_AFTER = 3 * DAY;
const STARTED = NOW - 2_000;
const RETRY_AT = NOW + 60_000;
const SCHEDULE_START = NOW - DAY;
const iso = (ms: number) => new Date(ms).toISOString();

const delivery: DeliveryFacts = { attemptsCount: 2, eventId: "evt_1", eventType: "member.added", tenantId: "acme" };
const healthy: WebhookFacts = { tenantId: "acme", url: "https://example.com/h", enabled: true, failureCount: 0, failingSince: null };
/** A webhook failing for a day, with one delivery already counted. */
const failing: WebhookFacts = { ...healthy, failureCount: 1, failingSince: NOW - DAY };
const disabled: WebhookFacts = { ...healthy, enabled: false };

interface Case {
  result: AttemptResult;
  manual?: boolean;
  statusCode?: number | null;
  error?: string | null;
}

function outcome(c: Case): AttemptOutcome {
  const statusCode = c.statusCode === undefined ? (c.result === "succeeded" ? 200 : c.result === "gone" ? 410 : 500) : c.statusCode;
  return {
    deliveryId: "dlv_1",
    webhookId: "wh_1",
    manual: c.manual ?? false,
    result: c.result,
    nextAttemptAt: c.result === "retry" ? RETRY_AT : null,
    retryStartedAt: SCHEDULE_START,
    attempt: { startedAt: STARTED, durationMs: 40, statusCode, responseBody: "body", error: c.error ?? null },
  };
}

const decide = (c: Case, webhook: WebhookFacts = healthy, d: DeliveryFacts = delivery) =>
  decideOutcome(outcome(c), d, webhook, NOW, DISABLE_AFTER);

describe("the delivery", () => {
  const state = (status: string, nextAttemptAt: number | null, lastStatusCode: number | null, lastError: string | null) => ({
    kind: "state",
    status,
    attemptsCount: 3,
    nextAttemptAt,
    lastStatusCode,
    lastError,
    retryStartedAt: SCHEDULE_START,
  });
  test.each<[string, Case, WebhookFacts, unknown]>([
    ["a success: succeeded, nothing scheduled, no error", { result: "succeeded" }, healthy, state("succeeded", null, 200, null)],
    ["a success of a disabled webhook's delivery is still a success", { result: "succeeded" }, disabled, state("succeeded", null, 200, null)],
    ["a retry: pending at the time the policy gave, the status as the error", { result: "retry" }, healthy, state("pending", RETRY_AT, 500, "HTTP 500")],
    ["a transport error is the error as met, with no status", { result: "retry", statusCode: null, error: "connection refused" }, healthy, state("pending", RETRY_AT, null, "connection refused")],
    ["the transport error wins over the status (a 2xx whose body timed out)", { result: "retry", statusCode: 200, error: "timeout after 500ms" }, healthy, state("pending", RETRY_AT, 200, "timeout after 500ms")],
    ["a retry of a webhook disabled meanwhile: failed, saying so", { result: "retry" }, disabled, state("failed", null, 500, "HTTP 500; webhook is disabled")],
    ["… with neither status nor error", { result: "retry", statusCode: null }, disabled, state("failed", null, null, "failed; webhook is disabled")],
    ["exhausted: failed", { result: "failed" }, healthy, state("failed", null, 500, "HTTP 500")],
    ["410: failed at once", { result: "gone" }, healthy, state("failed", null, 410, "HTTP 410")],
    ["a manual retry that succeeds: succeeded", { result: "succeeded", manual: true }, healthy, state("succeeded", null, 200, null)],
    // A manual retry changes the state only when it succeeds: a failed one stays failed, a
    // pending one keeps its schedule; only the attempt is shown.
    ["a manual retry that fails: one more attempt and what it met, nothing else", { result: "failed", manual: true }, healthy, { kind: "attempted", attemptsCount: 3, lastStatusCode: 500, lastError: "HTTP 500" }],
    ["… whatever its result", { result: "retry", manual: true, statusCode: null, error: "dns" }, disabled, { kind: "attempted", attemptsCount: 3, lastStatusCode: null, lastError: "dns" }],
  ])("%s", (_name, c, webhook, expected) => {
    expect(decide(c, webhook).delivery).toEqual(expected as never);
  });

  test("the attempt is numbered after the delivery's attempts, and keeps what was met", () => {
    expect(decide({ result: "retry", statusCode: null, error: "reset" }).attempt).toEqual({
      n: 3,
      startedAt: STARTED,
      durationMs: 40,
      statusCode: null,
      responseBody: "body",
      error: "reset",
    });
    expect(decide({ result: "succeeded" }).attempt).toMatchObject({ n: 3, statusCode: 200, error: null });
  });
});

describe("the webhook's failure counters", () => {
  test.each<[string, Case, WebhookFacts, unknown]>([
    ["a success of a healthy webhook writes nothing", { result: "succeeded" }, healthy, null],
    ["a success ends a run of failures", { result: "succeeded" }, failing, { kind: "recovered" }],
    ["… and a count left without a run", { result: "succeeded" }, { ...healthy, failureCount: 2 }, { kind: "recovered" }],
    ["the first failed attempt starts the run, counting no delivery yet", { result: "retry" }, healthy, { kind: "failing", failureCount: 0, failingSince: STARTED }],
    ["a failed attempt inside a run changes nothing (no write)", { result: "retry" }, failing, null],
    ["exhausted: one more delivery counted, the run's start kept", { result: "failed" }, failing, { kind: "failing", failureCount: 2, failingSince: NOW - DAY }],
    ["exhausted at the first failure: counted, and the run starts", { result: "failed" }, healthy, { kind: "failing", failureCount: 1, failingSince: STARTED }],
    ["410 counts as a delivery given up", { result: "gone" }, healthy, { kind: "failing", failureCount: 1, failingSince: STARTED }],
    ["a failed manual retry is one more attempt, never one more delivery", { result: "failed", manual: true }, failing, null],
    ["… though it starts a run", { result: "gone", manual: true }, healthy, { kind: "failing", failureCount: 0, failingSince: STARTED }],
    ["a retry cut short by a disable is not a delivery that ran out", { result: "retry" }, { ...failing, enabled: false }, null],
  ])("%s", (_name, c, webhook, expected) => {
    expect(decide(c, webhook).webhook).toEqual(expected as never);
  });
});

describe("the disable", () => {
  const old = (ms: number): WebhookFacts => ({ ...failing, failingSince: NOW - ms });
  test.each<[string, Case, WebhookFacts, "gone" | "failing" | null]>([
    ["410 disables at once, a healthy webhook too", { result: "gone" }, healthy, "gone"],
    ["410 on a manual retry too", { result: "gone", manual: true }, healthy, "gone"],
    ["a run disable_after old disables it as failing", { result: "retry" }, old(DISABLE_AFTER), "failing"],
    ["… older too", { result: "failed" }, old(DISABLE_AFTER + 1), "failing"],
    ["… and a manual retry's failure too", { result: "failed", manual: true }, old(DISABLE_AFTER), "failing"],
    ["a run a millisecond younger does not", { result: "retry" }, old(DISABLE_AFTER - 1), null],
    ["a first failure starts a run, it does not end one", { result: "failed" }, healthy, null],
    ["a success never disables", { result: "succeeded" }, old(10 * DAY), null],
    ["a disabled webhook is not disabled again (no second event)", { result: "gone" }, disabled, null],
    ["… nor for failing", { result: "retry" }, { ...old(10 * DAY), enabled: false }, null],
  ])("%s", (_name, c, webhook, reason) => {
    const plan = decide(c, webhook);
    expect(plan.disable?.reason ?? null).toBe(reason);
    if (reason !== null) expect(plan.disable).toMatchObject({ webhookId: "wh_1", deliveriesError: `webhook disabled (${reason})` });
  });

  test("disable_after counts from the run's start, which the first failure of a run sets", () => {
    // No run yet: this attempt starts it, STARTED is not disable_after ago.
    expect(decideOutcome(outcome({ result: "retry" }), delivery, healthy, STARTED + DISABLE_AFTER - 1, DISABLE_AFTER).disable).toBeNull();
    expect(decideOutcome(outcome({ result: "retry" }), delivery, healthy, STARTED + DISABLE_AFTER, DISABLE_AFTER).disable?.reason).toBe("failing");
  });

  test("its event reports the webhook's counters as the plan leaves them", () => {
    const plan = decide({ result: "gone" }, failing);
    expect(plan.disable?.event).toEqual({
      tenantId: "acme",
      type: "hookline.webhook.disabled",
      data: {
        webhook_id: "wh_1",
        url: "https://example.com/h",
        reason: "gone",
        failure_count: 2,
        failing_since: iso(NOW - DAY),
        disabled_at: iso(NOW),
      },
    });
    expect(decide({ result: "gone" }).disable?.event.data).toMatchObject({ failure_count: 1, failing_since: iso(STARTED) });
  });
});

describe("the operational events", () => {
  const types = (c: Case, webhook: WebhookFacts, d: DeliveryFacts = delivery) => decide(c, webhook, d).events.map((e) => e.type);
  test.each<[string, Case, WebhookFacts, DeliveryFacts, string[]]>([
    ["a success of a healthy webhook: none", { result: "succeeded" }, healthy, delivery, []],
    ["a success after a run of failures: recovered", { result: "succeeded" }, failing, delivery, ["hookline.webhook.recovered"]],
    ["a count without a run: reset, but nothing recovered", { result: "succeeded" }, { ...healthy, failureCount: 1 }, delivery, []],
    ["a retry: none", { result: "retry" }, healthy, delivery, []],
    ["exhausted: delivery.exhausted", { result: "failed" }, healthy, delivery, ["hookline.delivery.exhausted"]],
    ["410: delivery.exhausted (the disable has its own)", { result: "gone" }, healthy, delivery, ["hookline.delivery.exhausted"]],
    ["a failed manual retry: none", { result: "failed", manual: true }, healthy, delivery, []],
    ["a retry cut short by a disable: none", { result: "retry" }, disabled, delivery, []],
    // A dead receiver of Hookline's own events would otherwise feed itself one after every schedule.
    ["a delivery of an operational event that runs out: none", { result: "failed" }, healthy, { ...delivery, eventType: "hookline.delivery.exhausted" }, []],
    ["… nor of the test event", { result: "gone" }, healthy, { ...delivery, eventType: "webhook.test" }, []],
  ])("%s", (_name, c, webhook, d, expected) => {
    expect(types(c, webhook, d)).toEqual(expected);
  });

  test("delivery.exhausted says which delivery, its event, its attempts and what the last one met", () => {
    expect(decide({ result: "failed", statusCode: null, error: "connection refused" }).events).toEqual([
      {
        tenantId: "acme",
        type: "hookline.delivery.exhausted",
        data: {
          delivery_id: "dlv_1",
          webhook_id: "wh_1",
          event_id: "evt_1",
          event_type: "member.added",
          attempts: 3,
          last_status_code: null,
          last_error: "connection refused",
        },
      },
    ]);
  });

  test("webhook.recovered says since when it had failed and when it recovered", () => {
    expect(decide({ result: "succeeded" }, failing).events).toEqual([
      {
        tenantId: "acme",
        type: "hookline.webhook.recovered",
        data: { webhook_id: "wh_1", url: "https://example.com/h", failing_since: iso(NOW - DAY), recovered_at: iso(NOW) },
      },
    ]);
  });
});

describe("the sweep's rule", () => {
  test.each<[string, number | null, boolean]>([
    ["healthy", null, false],
    ["failing since the cutoff", NOW, true],
    ["failing since before it", NOW - 1, true],
    ["failing since after it", NOW + 1, false],
  ])("%s", (_name, failingSince, expected) => {
    expect(failingTooLong(failingSince, NOW)).toBe(expected);
  });

  test("its disable is the outcome's: the same reason, error and event", () => {
    const fromOutcome = decideOutcome(outcome({ result: "retry" }), delivery, failing, NOW, DAY).disable;
    expect(decideDisable("wh_1", failing, "failing", NOW)).toEqual(fromOutcome as never);
    expect(decideDisable("wh_2", { ...failing, failingSince: null }, "failing", NOW).event.data).toMatchObject({ webhook_id: "wh_2", failing_since: null });
  });
});
