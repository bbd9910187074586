// The PostgreSQL store's row mappers: int8 columns arrive as strings, JSON columns as text, and
// secrets are sealed on the way in and opened on the way out, as the SQLite store does.
import { expect, test } from "bun:test";
import {
  toAttempt,
  toDelivery,
  toEventType,
  toKey,
  toWebhook,
  WEBHOOK_INSERT_COLUMNS,
  type WebhookRow,
  webhookValues,
} from "../../src/db/pg/rows.ts";
import { createSecretBox, isEncrypted } from "../../src/domain/secret-box.ts";
import type { WebhookRecord } from "../../src/domain/store.ts";

const box = createSecretBox(Buffer.alloc(32, 7).toString("base64"));

const webhook: WebhookRecord = {
  id: "wh_01",
  tenantId: "acme",
  url: "https://receiver.example/a",
  events: ["member.*"],
  description: "crm",
  headers: { "x-team": "crm", authorization: "Bearer abc123" },
  secret: "whsec_now",
  previousSecret: "whsec_before",
  previousSecretExpiresAt: 1_700_000_000_123,
  enabled: false,
  disabledReason: "manual",
  failureCount: 3,
  failingSince: 1_700_000_000_000,
  createdAt: 1_699_999_999_999,
  updatedAt: 1_700_000_000_001,
};

/** The row PostgreSQL would hand back for the values inserted: int8 as strings. */
function rowOf(values: unknown[]): WebhookRow {
  const names = WEBHOOK_INSERT_COLUMNS.split(",").map((c) => c.trim());
  const int8 = new Set(["previous_secret_expires_at", "failing_since", "created_at", "updated_at"]);
  return Object.fromEntries(
    names.map((n, i) => [n, int8.has(n) && values[i] !== null ? String(values[i]) : values[i]]),
  ) as unknown as WebhookRow;
}

test("a webhook goes in sealed (secrets and secret header values) and comes back as it was", () => {
  const values = webhookValues(webhook, box);
  const row = rowOf(values);
  expect(isEncrypted(row.secret)).toBe(true);
  expect(isEncrypted(row.previous_secret ?? "")).toBe(true);
  const stored = JSON.parse(row.headers) as Record<string, string>;
  expect(stored["x-team"]).toBe("crm");
  expect(isEncrypted(stored.authorization ?? "")).toBe(true);
  expect(toWebhook(row, box)).toEqual(webhook);
});

test("nullable int8 columns stay null; times come back as numbers", () => {
  const row = rowOf(
    webhookValues(
      {
        ...webhook,
        previousSecret: null,
        previousSecretExpiresAt: null,
        failingSince: null,
      },
      box,
    ),
  );
  expect(toWebhook(row, box)).toMatchObject({
    previousSecret: null,
    previousSecretExpiresAt: null,
    failingSince: null,
    createdAt: webhook.createdAt,
  });
  expect(
    toKey({
      id: "key_1",
      tenant_id: "*",
      role: "admin",
      name: "n",
      prefix: "hl_",
      hash: "h",
      created_at: "5",
      revoked_at: null,
      expires_at: "9",
      kind: "portal",
    }),
  ).toEqual({
    id: "key_1",
    tenantId: "*",
    role: "admin",
    name: "n",
    prefix: "hl_",
    hash: "h",
    createdAt: 5,
    revokedAt: null,
    expiresAt: 9,
    kind: "portal",
  });
});

test("event types, deliveries and attempts: JSON schema parsed, int8 converted", () => {
  expect(
    toEventType({
      name: "a.b",
      description: "",
      schema: '{"type":"object"}',
      payload_format: "data",
      archived: true,
      created_at: "1",
      updated_at: "2",
    }),
  ).toEqual({
    name: "a.b",
    description: "",
    schema: { type: "object" },
    payloadFormat: "data",
    archived: true,
    createdAt: 1,
    updatedAt: 2,
  });
  const d = toDelivery({
    id: "dlv_1",
    event_id: "evt_1",
    webhook_id: "wh_1",
    tenant_id: "acme",
    event_type: "a.b",
    status: "pending",
    attempts_count: 2,
    retry_base: 0,
    retry_started_at: "10",
    next_attempt_at: "20",
    lease_expires_at: null,
    claim_token: "t",
    last_status_code: 500,
    last_error: "HTTP 500",
    created_at: "1",
    updated_at: "30",
  });
  expect(d).toEqual({
    id: "dlv_1",
    eventId: "evt_1",
    webhookId: "wh_1",
    tenantId: "acme",
    eventType: "a.b",
    status: "pending",
    attemptsCount: 2,
    retryBase: 0,
    retryStartedAt: 10,
    nextAttemptAt: 20,
    leaseExpiresAt: null,
    lastStatusCode: 500,
    lastError: "HTTP 500",
    createdAt: 1,
    updatedAt: 30,
  });
  expect(
    toAttempt({
      delivery_id: "dlv_1",
      n: 1,
      started_at: "7",
      duration_ms: 12,
      status_code: null,
      response_body: null,
      error: "timeout",
    }),
  ).toEqual({
    deliveryId: "dlv_1",
    n: 1,
    startedAt: 7,
    durationMs: 12,
    statusCode: null,
    responseBody: null,
    error: "timeout",
  });
});
