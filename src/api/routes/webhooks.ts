import { Elysia, t } from "elysia";
import { recoverWebhook } from "../../domain/webhooks/recover.ts";
import { listWebhookDeliveries } from "../../domain/deliveries/read.ts";
import { parsePage } from "../../domain/pagination.ts";
import { rotateSecret } from "../../domain/webhooks/rotate-secret.ts";
import { sendTestEvent } from "../../domain/webhooks/send-test.ts";
import { webhookStats } from "../../domain/webhooks/stats.ts";
import { createWebhook } from "../../domain/webhooks/create.ts";
import { getWebhook, listWebhooks } from "../../domain/webhooks/read.ts";
import { deleteWebhook, updateWebhook } from "../../domain/webhooks/update.ts";
import { authPlugin } from "../auth.ts";
import type { ApiDeps } from "../deps.ts";
import {
  CreatedWebhookSchema,
  DeliveryIdSchema,
  DeliveryPageSchema,
  PageQuery,
  RecoverBody,
  RequeuedSchema,
  RotateBody,
  SecretSchema,
  CreateWebhookBody,
  errorResponses,
  UpdateWebhookBody,
  WebhookListQuery,
  WebhookPageSchema,
  WebhookSchema,
  WebhookStatsSchema,
} from "../schemas.ts";

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
        response: { 201: CreatedWebhookSchema, ...errorResponses(409) },
        detail: { summary: "Subscribe a URL to event types (the secret is shown once)" },
      },
    )
    .get(
      "", ({ principal, query }) => listWebhooks(deps, principal, parsePage(query, "wh"), query), {
      auth: "viewer",
      query: WebhookListQuery,
      response: { 200: WebhookPageSchema, ...errorResponses(422) },
      detail: { summary: "List webhooks, newest first" },
    })
    .get("/:id", ({ principal, params }) => getWebhook(deps, principal, params.id), {
      auth: "viewer",
      params: idParam,
      response: { 200: WebhookSchema, ...errorResponses(404) },
      detail: { summary: "Get a webhook (never its secret)" },
    })
    .patch("/:id", ({ principal, params, body }) => updateWebhook(deps, principal, params.id, body), {
      auth: "admin",
      params: idParam,
      body: UpdateWebhookBody,
      response: { 200: WebhookSchema, ...errorResponses(404, 409) },
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
        response: { 204: t.Void(), ...errorResponses(404) },
        detail: { summary: "Delete a webhook with its pending deliveries and history" },
      },
    )
    .get(
      "/:id/deliveries",
      ({ principal, params, query }) =>
        listWebhookDeliveries(deps, principal, params.id, parsePage(query, "dlv"), query.status),
      {
        auth: "viewer",
        params: idParam,
        query: t.Object({ ...PageQuery, status: t.Optional(t.String({ description: "pending, delivering, succeeded or failed" })) }),
        response: { 200: DeliveryPageSchema, ...errorResponses(404, 422) },
        detail: { summary: "The webhook's deliveries, newest first" },
      },
    )
    .get("/:id/stats", ({ principal, params, query }) => webhookStats(deps, principal, params.id, query.window), {
      auth: "viewer",
      params: idParam,
      query: t.Object({ window: t.Optional(t.String({ description: "A duration such as 1h or 7d; default 24h" })) }),
      response: { 200: WebhookStatsSchema, ...errorResponses(404, 422) },
      detail: {
        summary: "Health over a window: attempts, success rate, latency, failures, pending",
        description:
          "Attempts are counted per minute (the stats roll-up, as GET /v1/stats/deliveries): the window starts at the start of its first minute. " +
          "p50 and p95 are nearest ranks over the roll-up's duration bins, answered as their bin's upper bound: never under the exact value, over it by at most 8 ms or 41.5 %.",
      },
    })
    .post(
      "/:id/test",
      async ({ principal, params, set }) => {
        set.status = 202;
        return sendTestEvent(deps, principal, params.id);
      },
      {
        auth: "admin",
        params: idParam,
        response: { 202: DeliveryIdSchema, ...errorResponses(404) },
        detail: { summary: "Send a signed webhook.test event to this webhook only" },
      },
    )
    .post("/:id/rotate-secret", ({ principal, params, body }) => rotateSecret(deps, principal, params.id, body), {
      auth: "admin",
      params: idParam,
      body: RotateBody,
      response: { 200: SecretSchema, ...errorResponses(404) },
      detail: { summary: "New signing secret; the old one keeps signing for signing.rotation_overlap" },
    })
    .post(
      "/:id/recover",
      async ({ principal, params, body, set }) => {
        set.status = 202;
        return recoverWebhook(deps, principal, params.id, body);
      },
      {
        auth: "admin",
        params: idParam,
        body: RecoverBody,
        response: { 202: RequeuedSchema, ...errorResponses(404) },
        detail: { summary: "Schedule every failed delivery created since `since` again" },
      },
    );
}
