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
  return finishDocument(doc, routeBodies(app), plain(ErrorSchema));
}
