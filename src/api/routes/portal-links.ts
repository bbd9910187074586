import { Elysia, t } from "elysia";
import type { Config } from "../../config/types.ts";
import { createPortalLink } from "../../domain/portal-links.ts";
import { authPlugin } from "../auth.ts";
import type { ApiDeps } from "../deps.ts";
import { errorResponses } from "../schemas.ts";

const HOST_RE = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(:\d{1,5})?$/i;

function firstValue(header: string | null): string | undefined {
  const v = header?.split(",")[0]?.trim();
  return v === undefined || v === "" ? undefined : v;
}

/**
 * The base of a portal link: server.public_url when set, else the address the creating request
 * was sent to — X-Forwarded-Proto and X-Forwarded-Host (first value) as a proxy in front sets
 * them, then Host, then the address the request reached. Headers are trusted here because the
 * link goes back only to the admin who sent them: a forged header misleads only its sender, who
 * could as well write the link by hand. They are still checked (a scheme of http or https, a
 * host with an optional port) so that no header can put a path, a query or a fragment into it.
 */
export function linkBase(publicUrl: string | undefined, request: Request): string {
  if (publicUrl !== undefined) return publicUrl.replace(/\/+$/, "");
  const url = new URL(request.url);
  const proto = firstValue(request.headers.get("x-forwarded-proto"))?.toLowerCase();
  const scheme = proto === "http" || proto === "https" ? proto : url.protocol.replace(/:$/, "");
  const host = [firstValue(request.headers.get("x-forwarded-host")), firstValue(request.headers.get("host"))].find(
    (h): h is string => h !== undefined && HOST_RE.test(h),
  );
  return `${scheme}://${host ?? url.host}`;
}

export const PortalLinkBody = t.Object(
  {
    tenant_id: t.Optional(t.String({ description: "The tenant whose portal it opens; global admins must name one" })),
    ttl: t.Optional(t.String({ description: "How long the link works: a duration from 1m to 7d; default 1h" })),
    role: t.Optional(
      t.String({ description: "admin (default): the customer may change its webhooks; viewer: read only" }),
    ),
  },
  { additionalProperties: false, examples: [{ tenant_id: "acme", ttl: "1h", role: "admin" }] },
);

export const PortalLinkSchema = t.Object(
  {
    id: t.String({ description: "Listed by GET /v1/keys (kind portal); DELETE /v1/keys/{id} revokes the link" }),
    url: t.String({ description: "<server.public_url>/portal#token=<token>; shown once" }),
    expires_at: t.String({ format: "date-time" }),
  },
  { title: "PortalLink" },
);

export const BrandingSchema = t.Object(
  {
    portal_title: t.String({ description: "console.portal_title" }),
    accent_color: t.String({ description: "console.accent_color, #rgb or #rrggbb" }),
  },
  { title: "PortalBranding" },
);

export function brandingOf(config: Config) {
  return { portal_title: config.console.portal_title, accent_color: config.console.accent_color };
}

export function portalRoutes(deps: ApiDeps) {
  return new Elysia({ prefix: "/v1", detail: { tags: ["Portal"] } })
    .use(authPlugin(deps))
    .post(
      "/portal-links",
      async ({ principal, body, request, set }) => {
        const link = await createPortalLink(deps, principal, body, linkBase(deps.config.server.public_url, request));
        set.status = 201;
        return link;
      },
      {
        auth: "admin",
        body: PortalLinkBody,
        response: { 201: PortalLinkSchema, ...errorResponses(422) },
        detail: {
          summary:
            "An expiring link to the tenant portal: its token manages that tenant's webhooks and reads their deliveries, event types and stats — no keys, no publishing",
        },
      },
    )
    .get("/portal/branding", () => brandingOf(deps.config), {
      auth: "viewer",
      response: { 200: BrandingSchema },
      detail: { summary: "The portal's title and accent colour ([console] in the config), for the portal page" },
    });
}
