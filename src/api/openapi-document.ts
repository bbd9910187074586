// The OpenAPI document served at /openapi.json and committed as openapi.json (CI fails when
// they differ). Generated from the routes by @elysiajs/openapi, then finished by
// openapi-finish.ts; built once per app, since routes do not change after start.
import { toOpenAPISchema } from "@elysiajs/openapi";
import type { AnyElysia } from "elysia";
import { finishDocument, type JsonObject, type RouteBody } from "./openapi-finish.ts";
import { ErrorSchema } from "./schemas.ts";

const DESCRIPTION = [
  "Self-hosted webhook delivery: publish events, subscribe URLs, inspect deliveries.",
  "",
  "**Authentication.** Send an API key (`hkl_…`), the root key or a JWT (when `[auth.jwt]` is set) as",
  "`Authorization: Bearer <key>` or `X-API-Key: <key>`. Each operation names the role it needs:",
  "`viewer` < `publisher` < `admin`; a *global* key (`tenant_id: \"*\"`) acts in every tenant and must",
  "name `tenant_id` in the bodies that create something. Another tenant's resource answers 404.",
  "",
  "**Errors** are `{error, message, errors?}`; `errors` names each field (`url: must use https`).",
  "Lists are newest first, `{data, next_cursor}`, paged with `?limit=` (1–100) and `?cursor=`.",
].join("\n");

/**
 * Names that generated clients turn into method names (`client.createWebhook(…)`); the
 * plugin's own ("postV1Event-types") are not identifiers in most languages.
 */
export const OPERATION_IDS: Record<string, string> = {
  "get /metrics": "getMetrics",
  "get /healthz": "getHealth",
  "get /readyz": "getReadiness",
  "post /v1/keys": "createKey",
  "get /v1/keys": "listKeys",
  "delete /v1/keys/{id}": "revokeKey",
  "get /v1/event-types": "listEventTypes",
  "post /v1/event-types": "createEventType",
  "patch /v1/event-types/{name}": "updateEventType",
  "delete /v1/event-types/{name}": "archiveEventType",
  "post /v1/webhooks": "createWebhook",
  "get /v1/webhooks": "listWebhooks",
  "get /v1/webhooks/{id}": "getWebhook",
  "patch /v1/webhooks/{id}": "updateWebhook",
  "delete /v1/webhooks/{id}": "deleteWebhook",
  "get /v1/webhooks/{id}/deliveries": "listWebhookDeliveries",
  "get /v1/webhooks/{id}/stats": "getWebhookStats",
  "post /v1/webhooks/{id}/test": "sendTestEvent",
  "post /v1/webhooks/{id}/rotate-secret": "rotateWebhookSecret",
  "post /v1/webhooks/{id}/recover": "recoverWebhook",
  "post /v1/webhooks/{id}/replay": "replayWebhook",
  "get /v1/webhooks/{id}/replays/{replay_id}": "getReplay",
  "post /v1/events": "publishEvent",
  "get /v1/events": "listEvents",
  "get /v1/events/{id}": "getEvent",
  "get /v1/deliveries/{id}": "getDelivery",
  "post /v1/deliveries/{id}/retry": "retryDelivery",
  "get /v1/stats/deliveries": "getDeliveryStats",
  "post /v1/portal-links": "createPortalLink",
  "get /v1/portal/branding": "getPortalBranding",
  "get /v1/whoami": "whoami",
};

/** JSON Schema of a TypeBox schema: TypeBox's own markers are symbols, which JSON drops. */
function plain(schema: unknown): JsonObject {
  return JSON.parse(JSON.stringify(schema)) as JsonObject;
}

export function routeBodies(app: AnyElysia): RouteBody[] {
  const out: RouteBody[] = [];
  for (const route of app.routes) {
    const body = (route.hooks as { body?: unknown }).body;
    if (body === undefined || typeof body !== "object") continue;
    out.push({ method: route.method.toLowerCase(), path: route.path.replace(/:([^/]+)/g, "{$1}"), schema: plain(body) });
  }
  return out;
}

export function buildOpenApiDocument(app: AnyElysia, version: string): JsonObject {
  const generated = toOpenAPISchema(app, { paths: [/^\/docs/, /^\/openapi\.json$/] }, undefined, undefined, "3.1.0");
  const doc: JsonObject = {
    openapi: "3.1.0",
    info: { title: "Hookline API", version, description: DESCRIPTION },
    tags: [
      { name: "Keys", description: "API keys: shown once, stored hashed" },
      { name: "Event types", description: "The catalog of what your backend publishes" },
      { name: "Webhooks", description: "Subscriptions: a URL and the event types it receives" },
      { name: "Events", description: "Publish (the outbox) and read events" },
      { name: "Deliveries", description: "One event to one webhook, with its attempts" },
      { name: "Stats", description: "Time series of attempts, for charts" },
      { name: "Portal", description: "Expiring links that let a tenant's customers manage their own webhooks" },
      { name: "Operations", description: "Health, readiness and metrics (no credentials)" },
    ],
    paths: plain(generated.paths),
    components: {
      schemas: plain(generated.components.schemas ?? {}),
      securitySchemes: {
        bearerAuth: { type: "http", scheme: "bearer", description: "An API key (hkl_…), the root key or a JWT" },
        apiKeyHeader: { type: "apiKey", in: "header", name: "X-API-Key" },
      },
    },
  };
  const paths = doc.paths as Record<string, Record<string, JsonObject>>;
  for (const [path, item] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(item)) {
      const id = OPERATION_IDS[`${method} ${path}`];
      // A new route without a name here fails the contract test, which wants identifiers.
      if (id !== undefined) op.operationId = id;
    }
  }
  return finishDocument(doc, routeBodies(app), plain(ErrorSchema));
}
