import { Elysia, t } from "elysia";
import { getReplay, startReplay } from "../../domain/replay/jobs.ts";
import { authPlugin } from "../auth.ts";
import type { ApiDeps } from "../deps.ts";
import { errorResponses } from "../schemas.ts";

const ReplayBody = t.Object(
  {
    since: t.String({ description: "RFC 3339; events created at or after it, within retention.days" }),
    until: t.Optional(t.String({ description: "RFC 3339; events created at or before it (default now)" })),
    event_types: t.Optional(
      t.Array(t.String(), { description: "narrows the webhook's subscription to these types or patterns (member.*)" }),
    ),
  },
  { additionalProperties: false, examples: [{ since: "2026-01-31T00:00:00Z", until: "2026-02-07T00:00:00Z" }] },
);

const ReplayStartedSchema = t.Object({ id: t.String(), status: t.Literal("running") }, { title: "ReplayStarted" });

const ReplaySchema = t.Object(
  {
    id: t.String(),
    status: t.Union([t.Literal("running"), t.Literal("done"), t.Literal("failed")]),
    matched: t.Integer({ description: "events of the window the subscription matches" }),
    created: t.Integer({ description: "deliveries created" }),
    skipped: t.Integer({ description: "matched events whose payload retention already dropped" }),
    started_at: t.String(),
    finished_at: t.Union([t.String(), t.Null()]),
  },
  { title: "Replay" },
);

/** API.md §14: replay and backfill jobs of one webhook. */
export function replayRoutes(deps: ApiDeps) {
  return new Elysia({ prefix: "/v1/webhooks", detail: { tags: ["Webhooks"] } })
    .use(authPlugin(deps))
    .post(
      "/:id/replay",
      async ({ principal, params, body, set }) => {
        set.status = 202;
        return startReplay(deps, principal, params.id, body);
      },
      {
        auth: "admin",
        params: t.Object({ id: t.String() }),
        body: ReplayBody,
        response: { 202: ReplayStartedSchema, ...errorResponses(404, 409, 422) },
        detail: {
          summary: "Deliver the events of a time window to this webhook again (replay, backfill)",
          description:
            "Every event of the webhook's tenant created in [since, until] that its subscription (and event_types) matches gets a new delivery, delivered before or not. Runs in the background; at most one running replay per webhook (409).",
        },
      },
    )
    .get(
      "/:id/replays/:replay_id",
      ({ principal, params }) => getReplay(deps, principal, params.id, params.replay_id),
      {
        auth: "viewer",
        params: t.Object({ id: t.String(), replay_id: t.String() }),
        response: { 200: ReplaySchema, ...errorResponses(404) },
        detail: { summary: "A replay's status and progress" },
      },
    );
}
