import { Elysia, t } from "elysia";
import { publishEvent } from "../../domain/events/publish.ts";
import { getEvent, listEvents } from "../../domain/events/read.ts";
import { parsePage } from "../../domain/pagination.ts";
import { authPlugin } from "../auth.ts";
import { rawJsonText } from "../body.ts";
import type { ApiDeps } from "../deps.ts";
import {
  errorResponses,
  EventPageSchema,
  EventWithDeliveriesSchema,
  PageQuery,
  PublishBody,
  PublishedSchema,
  TenantQuery,
} from "../schemas.ts";

export function eventRoutes(deps: ApiDeps) {
  return new Elysia({ prefix: "/v1/events", detail: { tags: ["Events"] } })
    .use(authPlugin(deps))
    .post(
      "",
      async ({ principal, body, request, set }) => {
        // Committed and handed to the dispatcher inside publishEvent (commitAndHandOff: first, so
        // that nothing can keep their slots), and counted where it is handed over.
        const key = request.headers.get("idempotency-key") ?? undefined;
        // The raw text: a type of payload_format "data" sends the `data` it holds byte for byte.
        const published = await publishEvent(deps, principal, body, key, rawJsonText(request));
        set.status = published.status;
        return published.body;
      },
      {
        auth: "publisher",
        body: PublishBody,
        response: { 200: PublishedSchema, 202: PublishedSchema, ...errorResponses(409) },
        detail: {
          summary: "Publish an event (202 once it and its deliveries are on disk; 200 replays an idempotency key)",
        },
      },
    )
    .get("", ({ principal, query }) => listEvents(deps, principal, parsePage(query, "evt"), query), {
      auth: "viewer",
      query: t.Object({ ...PageQuery, ...TenantQuery, type: t.Optional(t.String()) }),
      response: { 200: EventPageSchema, ...errorResponses(422) },
      detail: { summary: "List events, newest first" },
    })
    .get("/:id", ({ principal, params }) => getEvent(deps, principal, params.id), {
      auth: "viewer",
      params: t.Object({ id: t.String() }),
      response: { 200: EventWithDeliveriesSchema, ...errorResponses(404) },
      detail: { summary: "Get an event with its deliveries" },
    });
}
