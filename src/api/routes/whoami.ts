import { Elysia, t } from "elysia";
import { toIso } from "../../domain/clock.ts";
import type { Principal } from "../../domain/principal.ts";
import { authPlugin } from "../auth.ts";
import type { ApiDeps } from "../deps.ts";

export const WhoamiSchema = t.Object(
  {
    kind: t.Union([t.Literal("root"), t.Literal("key"), t.Literal("jwt"), t.Literal("portal")], {
      description: "root: auth.root_key; key: an API key; jwt: a token from [auth.jwt]; portal: a portal link's token",
    }),
    id: t.String({ description: "The key's or link's id (GET /v1/keys), \"root\", or jwt:<tenant>:<subject>" }),
    tenant_id: t.String({ description: "The credential's tenant, or \"*\" for a global one" }),
    role: t.Union([t.Literal("viewer"), t.Literal("publisher"), t.Literal("admin")]),
    expires_at: t.Union([t.String({ format: "date-time" }), t.Null()], {
      description: "When the credential stops working; null when it does not expire",
    }),
  },
  { title: "Whoami" },
);

/**
 * What the caller's credential is, so a UI can show the actions its role allows without probing
 * for 403s. A key's expiry is its row's (the principal carries it only for tokens whose expiry
 * bounds what they may create, see createKey).
 */
async function describeCaller(deps: ApiDeps, p: Principal) {
  let expiresAt = p.expiresAt ?? null;
  if (p.kind === "key") expiresAt = (await deps.store.getKey(p.id))?.expiresAt ?? null;
  return { kind: p.kind, id: p.id, tenant_id: p.tenant, role: p.role, expires_at: expiresAt === null ? null : toIso(expiresAt) };
}

export function whoamiRoutes(deps: ApiDeps) {
  return new Elysia({ prefix: "/v1", detail: { tags: ["Keys"] } })
    .use(authPlugin(deps))
    .get("/whoami", ({ principal }) => describeCaller(deps, principal), {
      auth: "viewer",
      response: { 200: WhoamiSchema },
      detail: { summary: "The calling credential: its kind, id, tenant, role and expiry" },
    });
}
