import { Elysia, t } from "elysia";
import {
  archiveEventType,
  createEventType,
  listEventTypes,
  updateEventType,
} from "../../domain/event-types.ts";
import { authPlugin } from "../auth.ts";
import type { ApiDeps } from "../deps.ts";
import {
  CreateEventTypeBody,
  errorResponses,
  EventTypeListSchema,
  EventTypeSchema,
  UpdateEventTypeBody,
} from "../schemas.ts";

const nameParam = t.Object({ name: t.String() });

export function eventTypeRoutes(deps: ApiDeps) {
  return new Elysia({ prefix: "/v1/event-types", detail: { tags: ["Event types"] } })
    .use(authPlugin(deps))
    .get(
      "", async () => ({ data: await listEventTypes(deps) }), {
      auth: "viewer",
      response: { 200: EventTypeListSchema },
      detail: { summary: "List every event type (one page: a catalog is small)" },
    })
    .post(
      "",
      async ({ principal, body, set }) => {
        set.status = 201;
        return createEventType(deps, principal, body);
      },
      {
        auth: "global-admin",
        body: CreateEventTypeBody,
        response: { 201: EventTypeSchema, ...errorResponses(409) },
        detail: { summary: "Create an event type (global admin)" },
      },
    )
    .patch("/:name", ({ principal, params, body }) => updateEventType(deps, principal, params.name, body), {
      auth: "global-admin",
      params: nameParam,
      body: UpdateEventTypeBody,
      response: { 200: EventTypeSchema, ...errorResponses(404) },
      detail: { summary: "Update an event type (global admin); archived: false un-archives" },
    })
    .delete(
      "/:name",
      async ({ principal, params, set }) => {
        await archiveEventType(deps, principal, params.name);
        set.status = 204;
      },
      {
        auth: "global-admin",
        params: nameParam,
        response: { 204: t.Void(), ...errorResponses(404) },
        detail: { summary: "Archive an event type (global admin): no new events of it" },
      },
    );
}
