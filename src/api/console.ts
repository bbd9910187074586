import { Elysia } from "elysia";
import type { Config } from "../config/types.ts";
import { consoleBundle } from "./console-bundle.macro.ts" with { type: "macro" };

// Inlined at transpile time (see console-bundle.macro.ts): the binary serves the console offline.
const BUNDLE = consoleBundle();
const CONSOLE_ASSETS = BUNDLE.base;

/**
 * API.md §12: no inline script or style, nothing from another origin, not framed unless
 * `frameAncestors` (the portal's `[console] frame_ancestors`) names who may. The page's every
 * call is an ordinary /v1 call on this origin ('self' covers connect-src).
 */
export function pageCsp(frameAncestors: readonly string[] = []): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "connect-src 'self'",
    `frame-ancestors ${frameAncestors.length > 0 ? frameAncestors.join(" ") : "'none'"}`,
    "base-uri 'none'",
    "object-src 'none'",
    "form-action 'self'",
  ].join("; ");
}

/** The console's: never framed, whatever the config says (an admin's page is nobody's widget). */
export const CONSOLE_CSP = pageCsp();

function securityHeaders(frameAncestors: readonly string[] = []): Record<string, string> {
  return {
    "content-security-policy": pageCsp(frameAncestors),
    "x-content-type-options": "nosniff",
    // The URLs carry ids and a tenant, never a key or token; still, they are nobody else's.
    "referrer-policy": "no-referrer",
    // For browsers without CSP frame-ancestors; a portal that may be framed leaves it out, as
    // X-Frame-Options cannot name several origins.
    ...(frameAncestors.length === 0 ? { "x-frame-options": "DENY" } : {}),
  };
}

/** The console's files as served: path → body and headers. Exported for the size test. */
export const CONSOLE_FILES: ReadonlyMap<string, { body: string; type: string }> = new Map(
  BUNDLE.assets.map((a) => [`${CONSOLE_ASSETS}/${a.name}`, { body: a.text, type: a.type }]),
);

function htmlResponse(html: string, headers: Record<string, string>): Response {
  return new Response(html, { headers: { ...headers, "content-type": "text/html; charset=utf-8", "cache-control": "no-cache" } });
}

/**
 * /console and /portal, and every path under each, answer their page (the apps route in the
 * browser, so a delivery's URL can be pasted to a colleague); /console-assets/* are the hashed
 * bundle files both pages share. Only the portal's page may be framed, by the origins of
 * `[console] frame_ancestors`.
 */
export function consolePlugin(config: Pick<Config["console"], "frame_ancestors"> = { frame_ancestors: [] }) {
  const consoleHeaders = securityHeaders();
  const portalHeaders = securityHeaders(config.frame_ancestors);
  const consolePage = () => htmlResponse(BUNDLE.html.console, consoleHeaders);
  const portalPage = () => htmlResponse(BUNDLE.html.portal, portalHeaders);
  const hide = { detail: { hide: true } };
  return new Elysia({ name: "hookline-console" })
    .get("/console", consolePage, hide)
    .get("/console/*", consolePage, hide)
    .get("/portal", portalPage, hide)
    .get("/portal/*", portalPage, hide)
    .get(
      `${CONSOLE_ASSETS}/:file`,
      ({ params, set }) => {
        const file = CONSOLE_FILES.get(`${CONSOLE_ASSETS}/${params.file}`);
        if (!file) {
          set.status = 404;
          return new Response("Not found", { status: 404, headers: { ...consoleHeaders, "content-type": "text/plain; charset=utf-8" } });
        }
        const immutable = !params.file.startsWith("favicon");
        return new Response(file.body, {
          headers: {
            ...consoleHeaders,
            "content-type": file.type,
            "cache-control": immutable ? "public, max-age=31536000, immutable" : "public, max-age=86400",
          },
        });
      },
      hide,
    );
}
