// Request and response shapes for validation and for the OpenAPI document (API.md is the
// contract; these follow it). Semantic checks (URL safety, known event types…) live in domain/.
import { t } from "elysia";

const Timestamp = t.String({ format: "date-time", description: "RFC 3339 UTC" });
const Role = t.Union([t.Literal("viewer"), t.Literal("publisher"), t.Literal("admin")], {
  error: "must be one of viewer, publisher, admin",
});

const FORMAT_HELP =
  '"envelope": the body is {id, type, timestamp, tenant_id, data}; "data": the published data object byte for byte as received';
const PayloadFormat = t.Union([t.Literal("envelope"), t.Literal("data")], {
  error: "must be one of envelope, data",
  description: FORMAT_HELP,
});

export const ErrorSchema = t.Object(
  {
    error: t.String({ description: "Machine-readable code, e.g. validation_failed" }),
    message: t.String(),
    errors: t.Optional(t.Array(t.String(), { description: "Each starts with the field's path" })),
  },
  { title: "Error" },
);

/**
 * The error answers a route may give besides those every route of its kind gives (401, 403,
 * 429, the body's 400/413/415/422, 503 on writes, 500: added by api/openapi-finish.ts).
 */
export function errorResponses(...statuses: (404 | 409 | 422)[]): Record<number, typeof ErrorSchema> {
  return Object.fromEntries(statuses.map((s) => [s, ErrorSchema]));
}

export const PageQuery = {
  limit: t.Optional(t.String({ description: "1–100, default 50" })),
  cursor: t.Optional(t.String({ description: "next_cursor of the previous page" })),
};

export const TenantQuery = {
  tenant: t.Optional(t.String({ description: "Global keys only: narrow to one tenant" })),
};

function page<T extends ReturnType<typeof t.Object>>(item: T, title: string) {
  return t.Object({ data: t.Array(item), next_cursor: t.Union([t.String(), t.Null()]) }, { title });
}

// --- keys
export const KeySchema = t.Object(
  {
    id: t.String(),
    tenant_id: t.String({ description: 'A tenant id, or "*" for a global key' }),
    role: Role,
    name: t.String(),
    prefix: t.String({ description: "The key's first characters, to tell keys apart" }),
    created_at: Timestamp,
    expires_at: t.Union([Timestamp, t.Null()], {
      description: "When the key stops working (401 from then on); null if never. Expired keys stay listed until revoked.",
    }),
    kind: t.Union([t.Literal("key"), t.Literal("portal")], {
      description: "key: an API key; portal: a portal link's token (POST /v1/portal-links), revoked the same way",
    }),
  },
  { title: "ApiKey" },
);
export const CreatedKeySchema = t.Composite([KeySchema, t.Object({ key: t.String({ description: "Shown once" }) })], {
  title: "CreatedApiKey",
});
export const KeyPageSchema = page(KeySchema, "ApiKeyPage");
export const CreateKeyBody = t.Object(
  {
    tenant_id: t.Optional(t.String()),
    role: Role,
    name: t.Optional(t.String({ maxLength: 200 })),
    expires_at: t.Optional(
      t.String({
        description:
          "RFC 3339 with a time zone, in the future; omit for a key that never expires. A key created with a JWT " +
          "expires at the token's exp at the latest (its exp when omitted; a later value is 422).",
      }),
    ),
  },
  { additionalProperties: false, examples: [{ tenant_id: "acme", role: "publisher", name: "acme backend" }] },
);

// --- event types
export const EventTypeSchema = t.Object(
  {
    name: t.String(),
    description: t.String(),
    schema: t.Optional(t.Record(t.String(), t.Unknown(), { description: "JSON Schema" })),
    payload_format: t.Union([t.Literal("envelope"), t.Literal("data")], {
      description: `${FORMAT_HELP}. The type's own, else delivery.payload_format`,
    }),
    archived: t.Boolean(),
    builtin: t.Boolean(),
    created_at: Timestamp,
  },
  { title: "EventType" },
);
export const EventTypeListSchema = t.Object({ data: t.Array(EventTypeSchema) }, { title: "EventTypeList" });
export const CreateEventTypeBody = t.Object(
  {
    name: t.String({ pattern: "^[a-z0-9_]+(\\.[a-z0-9_]+)+$", error: "must look like 'resource.action'" }),
    description: t.Optional(t.String()),
    schema: t.Optional(t.Record(t.String(), t.Unknown(), { description: "JSON Schema that published data must match" })),
    payload_format: t.Optional(PayloadFormat),
  },
  {
    additionalProperties: false,
    examples: [
      {
        name: "member.added",
        description: "A member joined an organisation.",
        schema: { type: "object", properties: { member_id: { type: "string" } }, required: ["member_id"] },
      },
    ],
  },
);
export const UpdateEventTypeBody = t.Object(
  {
    description: t.Optional(t.String()),
    schema: t.Optional(t.Union([t.Record(t.String(), t.Unknown()), t.Null()])),
    payload_format: t.Optional(
      t.Union([t.Literal("envelope"), t.Literal("data"), t.Null()], {
        error: "must be one of envelope, data, or null",
        description: `${FORMAT_HELP}; null: delivery.payload_format decides`,
      }),
    ),
    archived: t.Optional(t.Boolean()),
  },
  { additionalProperties: false, examples: [{ description: "A member joined an organisation (with their role)." }] },
);

// --- webhooks
const FAILURE_COUNT =
  "Deliveries (not attempts) that ran out of retries or were answered 410 Gone since the webhook's last success " +
  "or re-enable. Failed attempts that will be retried, failed manual retries and deliveries failed by disabling " +
  "the webhook do not count.";
export const WebhookSchema = t.Object(
  {
    id: t.String(),
    tenant_id: t.String(),
    url: t.String(),
    events: t.Array(t.String()),
    description: t.String(),
    enabled: t.Boolean(),
    headers: t.Record(t.String(), t.String(), {
      description:
        "Custom headers sent with every delivery (names lower-case). Values of secret-looking headers (the name contains " +
        "auth, cookie, token, key, secret, passw, pwd, signature, credential, session or jwt) are masked as `Bea…(masked)` " +
        "in every answer except the create one; a masked value sent back unchanged in a PATCH keeps the stored value.",
    }),
    failure_count: t.Integer({ description: FAILURE_COUNT }),
    disabled_reason: t.Union([t.String(), t.Null()]),
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { title: "Webhook" },
);
export const CreatedWebhookSchema = t.Composite(
  [WebhookSchema, t.Object({ secret: t.String({ description: "Shown in this response only" }) })],
  { title: "CreatedWebhook" },
);
export const WebhookPageSchema = page(WebhookSchema, "WebhookPage");
const webhookFields = {
  url: t.String({ description: "Absolute https URL, at most 2083 characters" }),
  events: t.Array(t.String(), { description: "Event types, prefix patterns like member.*, or *" }),
  description: t.Optional(t.String()),
  headers: t.Optional(t.Record(t.String(), t.String())),
  enabled: t.Optional(t.Boolean()),
};
export const CreateWebhookBody = t.Object(
  {
    ...webhookFields,
    tenant_id: t.Optional(t.String()),
    secret: t.Optional(t.String({ description: "whsec_ + base64 of 24–64 bytes; generated if omitted" })),
  },
  {
    additionalProperties: false,
    examples: [
      { tenant_id: "acme", url: "https://example.com/webhooks", events: ["member.*"], description: "CRM sync" },
    ],
  },
);
export const UpdateWebhookBody = t.Object(
  {
    url: t.Optional(webhookFields.url),
    events: t.Optional(webhookFields.events),
    description: webhookFields.description,
    headers: webhookFields.headers,
    enabled: webhookFields.enabled,
    secret: t.Optional(t.Unknown({ description: "Refused: use rotate-secret" })),
  },
  { additionalProperties: false, examples: [{ description: "CRM sync (v2)", events: ["member.added"] }] },
);
export const WebhookListQuery = t.Object({
  ...PageQuery,
  ...TenantQuery,
  enabled: t.Optional(t.String({ description: "true or false" })),
  event: t.Optional(t.String({ description: "Only webhooks that would receive this event type" })),
});

// --- events and deliveries
export const PublishBody = t.Object(
  {
    type: t.String({ description: "A known, non-archived event type" }),
    data: t.Record(t.String(), t.Unknown(), { description: "Any JSON object; validated by the type's schema" }),
    tenant_id: t.Optional(t.String({ description: "Required with a global key" })),
    idempotency_key: t.Optional(t.String({ description: "Or the Idempotency-Key header" })),
  },
  { additionalProperties: false, examples: [{ tenant_id: "acme", type: "member.added", data: { member_id: "m_1" } }] },
);
export const PublishedSchema = t.Object(
  {
    id: t.String(),
    type: t.String(),
    tenant_id: t.String(),
    created_at: Timestamp,
    deliveries: t.Integer({ description: "Deliveries created by the fan-out" }),
  },
  { title: "PublishedEvent" },
);
const DeliveryStatus = t.Union([t.Literal("pending"), t.Literal("delivering"), t.Literal("succeeded"), t.Literal("failed")], {
  description:
    "pending: waiting in the database for its first or next attempt; delivering: claimed by the dispatcher, being sent or " +
    "waiting in its memory for a free slot of the webhook; succeeded; failed: retries exhausted, or its webhook disabled",
});
export const AttemptSchema = t.Object(
  {
    n: t.Integer(),
    started_at: Timestamp,
    duration_ms: t.Integer(),
    status_code: t.Union([t.Integer(), t.Null()]),
    response_body: t.Union([t.String(), t.Null()]),
    error: t.Union([t.String(), t.Null()]),
  },
  { title: "Attempt" },
);
export const DeliverySchema = t.Object(
  {
    id: t.String(),
    event_id: t.String(),
    webhook_id: t.String(),
    event_type: t.String(),
    status: DeliveryStatus,
    attempts_count: t.Integer(),
    next_attempt_at: t.Union([Timestamp, t.Null()]),
    last_status_code: t.Union([t.Integer(), t.Null()]),
    last_error: t.Union([t.String(), t.Null()]),
    created_at: Timestamp,
    updated_at: Timestamp,
    attempts: t.Optional(t.Array(AttemptSchema)),
  },
  { title: "Delivery" },
);
export const DeliveryPageSchema = page(DeliverySchema, "DeliveryPage");
export const EventSchema = t.Object(
  {
    id: t.String(),
    type: t.String(),
    tenant_id: t.String(),
    idempotency_key: t.Union([t.String(), t.Null()]),
    data: t.Unknown({ description: "null once the payload was pruned" }),
    payload_pruned: t.Boolean({ description: "retention.payload_days dropped the body" }),
    payload_format: t.Union([t.Literal("envelope"), t.Literal("data")], {
      description: "The body its receivers got, decided when it was published",
    }),
    created_at: Timestamp,
  },
  { title: "Event" },
);
export const EventWithDeliveriesSchema = t.Composite([EventSchema, t.Object({ deliveries: t.Array(DeliverySchema) })], {
  title: "EventWithDeliveries",
});
export const EventPageSchema = page(EventSchema, "EventPage");
export const DeliveryIdSchema = t.Object({ delivery_id: t.String() }, { title: "DeliveryAccepted" });
export const SecretSchema = t.Object({ secret: t.String() }, { title: "Secret" });
export const RotateBody = t.Object(
  { secret: t.Optional(t.String({ description: "Your own whsec_ secret; generated if omitted" })) },
  { additionalProperties: false, examples: [{}] },
);
export const RecoverBody = t.Object(
  { since: t.String({ description: "RFC 3339; failed deliveries created since then are requeued" }) },
  { additionalProperties: false, examples: [{ since: "2026-01-31T00:00:00Z" }] },
);
export const RequeuedSchema = t.Object({ requeued: t.Integer() }, { title: "Requeued" });

export const WebhookStatsSchema = t.Object(
  {
    webhook_id: t.String(),
    window: t.String(),
    attempts: t.Integer(),
    succeeded: t.Integer(),
    failed: t.Integer(),
    success_rate: t.Union([t.Number(), t.Null()]),
    latency_ms: t.Object({ p50: t.Union([t.Number(), t.Null()]), p95: t.Union([t.Number(), t.Null()]) }),
    consecutive_failures: t.Integer({ description: FAILURE_COUNT }),
    failing_since: t.Union([Timestamp, t.Null()]),
    oldest_pending_at: t.Union([Timestamp, t.Null()]),
    next_attempt_at: t.Union([Timestamp, t.Null()]),
  },
  { title: "WebhookStats" },
);
