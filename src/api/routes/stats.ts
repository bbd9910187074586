import { Elysia, t } from "elysia";
import { deliveryStats } from "../../domain/stats/deliveries.ts";
import { authPlugin } from "../auth.ts";
import type { ApiDeps } from "../deps.ts";
import { errorResponses, TenantQuery } from "../schemas.ts";

const count = (description: string) => t.Integer({ minimum: 0, description });

export const DeliverySeriesSchema = t.Object(
  {
    buckets: t.Array(
      t.Object({
        start: t.String({ format: "date-time", description: "The bucket's start; buckets are aligned on multiples of their length" }),
        succeeded: count("Attempts started in the bucket that got a 2xx"),
        failed: count(
          "Attempts started in the bucket that failed with no further attempt scheduled: retries exhausted, 410 Gone, the webhook disabled, or a failed manual retry",
        ),
        retried: count("Attempts started in the bucket that failed and after which another attempt was scheduled"),
        p95_ms: t.Union([t.Integer({ minimum: 0 }), t.Null()], {
          description:
            "95th percentile (nearest rank) of the bucket's attempt durations, read from log-scale duration bins: never under the exact value, and over it by at most 8 ms or 41.5 % (√2), whichever is larger (the bins end at 8, 11, 16, 22, 32, 45, 64, 90, 128 … 370,727 ms); null without attempts",
        }),
      }),
      { description: "Every bucket of the window, oldest first; the last one holds the current time" },
    ),
  },
  { title: "DeliverySeries" },
);

const SeriesQuery = t.Object({
  window: t.Optional(t.String({ description: "How far back: a duration from 1m to 30d such as 24h or 7d; default 24h" })),
  bucket: t.Optional(
    t.String({
      description: "Bucket length: whole minutes such as 1m or 1h, at most 1,000 buckets; default about window/288 (24h → 5m)",
    }),
  ),
  webhook_id: t.Optional(t.String({ description: "Only this webhook's attempts" })),
  ...TenantQuery,
});

export function statsRoutes(deps: ApiDeps) {
  return new Elysia({ prefix: "/v1/stats", detail: { tags: ["Stats"] } })
    .use(authPlugin(deps))
    .get("/deliveries", ({ principal, query }) => deliveryStats(deps, principal, query), {
      auth: "viewer",
      query: SeriesQuery,
      response: { 200: DeliverySeriesSchema, ...errorResponses(404, 422) },
      detail: {
        summary:
          "Attempts per time bucket (succeeded, failed, retried; each attempt in exactly one, by its start time) and their p95 duration",
      },
    });
}
