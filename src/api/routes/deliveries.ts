import { Elysia, t } from "elysia";
import { retryDelivery } from "../../domain/deliveries/retry.ts";
import { getDelivery } from "../../domain/deliveries/read.ts";
import { authPlugin } from "../auth.ts";
import type { ApiDeps } from "../deps.ts";
import { DeliveryIdSchema, DeliverySchema, errorResponses } from "../schemas.ts";

const idParam = t.Object({ id: t.String() });

export function deliveryRoutes(deps: ApiDeps) {
  return new Elysia({ prefix: "/v1/deliveries", detail: { tags: ["Deliveries"] } })
    .use(authPlugin(deps))
    .get("/:id", ({ principal, params }) => getDelivery(deps, principal, params.id), {
      auth: "viewer",
      params: idParam,
      response: { 200: DeliverySchema, ...errorResponses(404) },
      detail: { summary: "Get a delivery with its attempts" },
    })
    .post(
      "/:id/retry",
      async ({ principal, params, set }) => {
        set.status = 202;
        return retryDelivery(deps, principal, params.id);
      },
      {
        auth: "admin",
        params: idParam,
        response: { 202: DeliveryIdSchema, ...errorResponses(404, 409) },
        detail: { summary: "One more attempt now, whatever the status (409 if the webhook is disabled)" },
      },
    );
}
