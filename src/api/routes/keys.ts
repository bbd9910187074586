import { Elysia, t } from "elysia";
import { createKey, listKeys, revokeKey } from "../../domain/keys.ts";
import { parsePage } from "../../domain/pagination.ts";
import { authPlugin } from "../auth.ts";
import type { ApiDeps } from "../deps.ts";
import { CreatedKeySchema, CreateKeyBody, errorResponses, KeyPageSchema, PageQuery, TenantQuery } from "../schemas.ts";


export function keyRoutes(deps: ApiDeps) {
  return new Elysia({ prefix: "/v1/keys", detail: { tags: ["Keys"] } })
    .use(authPlugin(deps))
    .post(
      "",
      async ({ principal, body, set }) => {
        set.status = 201;
        return createKey(deps, principal, body);
      },
      {
        auth: "admin",
        body: CreateKeyBody,
        response: { 201: CreatedKeySchema },
        detail: { summary: "Create an API key (the key is shown once)" },
      },
    )
    .get(
      "",
      ({ principal, query }) => listKeys(deps, principal, parsePage(query, "key"), query.tenant),
      {
        auth: "admin",
        query: t.Object({ ...PageQuery, ...TenantQuery }),
        response: { 200: KeyPageSchema, ...errorResponses(422) },
        detail: { summary: "List active API keys" },
      },
    )
    .delete(
      "/:id",
      async ({ principal, params, set }) => {
        await revokeKey(deps, principal, params.id);
        set.status = 204;
      },
      {
        auth: "admin",
        params: t.Object({ id: t.String() }),
        response: { 204: t.Void(), ...errorResponses(404) },
        detail: { summary: "Revoke an API key" },
      },
    );
}
