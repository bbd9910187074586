import { Elysia, t } from "elysia";
import { parsePage } from "../../domain/pagination.ts";
import { createWebhook } from "../../domain/webhooks/create.ts";
import { getWebhook, listWebhooks } from "../../domain/webhooks/read.ts";
import { deleteWebhook, updateWebhook } from "../../domain/webhooks/update.ts";
import { authPlugin } from "../auth.ts";
import type { ApiDeps } from "../deps.ts";
import {
  CreatedWebhookSchema,
  CreateWebhookBody,
  ErrorSchema,
  UpdateWebhookBody,
  WebhookListQuery,
  WebhookPageSchema,
  WebhookSchema,
} from "../schemas.ts";

const errors = { 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema, 422: ErrorSchema, 429: ErrorSchema };
const idParam = t.Object({ id: t.String() });

export function webhookRoutes(deps: ApiDeps) {
  return new Elysia({ prefix: "/v1/webhooks", detail: { tags: ["Webhooks"] } })
    .use(authPlugin(deps))
    .post(
      "",
      async ({ principal, body, set }) => {
        set.status = 201;
        return createWebhook(deps, principal, body);
      },
      {
        auth: "admin",
        body: CreateWebhookBody,
        response: { 201: CreatedWebhookSchema, ...errors },
        detail: { summary: "Subscribe a URL to event types (the secret is shown once)" },
      },
    )
    .get(
      "", ({ principal, query }) => listWebhooks(deps, principal, parsePage(query, "wh"), query), {
      auth: "viewer",
      query: WebhookListQuery,
      response: { 200: WebhookPageSchema, ...errors },
      detail: { summary: "List webhooks, newest first" },
    })
    .get("/:id", ({ principal, params }) => getWebhook(deps, principal, params.id), {
      auth: "viewer",
      params: idParam,
      response: { 200: WebhookSchema, ...errors },
      detail: { summary: "Get a webhook (never its secret)" },
    })
    .patch("/:id", ({ principal, params, body }) => updateWebhook(deps, principal, params.id, body), {
      auth: "admin",
      params: idParam,
      body: UpdateWebhookBody,
      response: { 200: WebhookSchema, ...errors },
      detail: { summary: "Change url, events, description, headers or enabled" },
    })
    .delete(
      "/:id",
      async ({ principal, params, set }) => {
        await deleteWebhook(deps, principal, params.id);
        set.status = 204;
      },
      {
        auth: "admin",
        params: idParam,
        response: { 204: t.Void(), ...errors },
        detail: { summary: "Delete a webhook with its pending deliveries and history" },
      },
    );
}
