import { Elysia } from "elysia";
import { consoleBundle } from "./console-bundle.macro.ts" with { type: "macro" };

// Inlined at transpile time (see console-bundle.macro.ts): the binary serves the console offline.
const BUNDLE = consoleBundle();
const CONSOLE_ASSETS = BUNDLE.base;

/**
 * API.md §12: no inline script or style, nothing from another origin, not framed. The page's
 * every call is an ordinary /v1 call on this origin ('self' covers connect-src).
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "object-src 'none'",
  "form-action 'self'",
].join("; ");

const SECURITY_HEADERS = {
  "content-security-policy": CONSOLE_CSP,
  "x-content-type-options": "nosniff",
  // The console's URLs carry ids and a tenant, never a key; still, they are nobody else's.
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
};

/** The console's files as served: path → body and headers. Exported for the size test. */
export const CONSOLE_FILES: ReadonlyMap<string, { body: string; type: string }> = new Map(
  BUNDLE.assets.map((a) => [`${CONSOLE_ASSETS}/${a.name}`, { body: a.text, type: a.type }]),
);

/**
 * /console and every path under it answer the same page (the app routes in the browser, so a
 * delivery's URL can be pasted to a colleague); /console-assets/* are the hashed bundle files.
 */
export function consolePlugin() {
  const page = () =>
    new Response(BUNDLE.html, {
      headers: { ...SECURITY_HEADERS, "content-type": "text/html; charset=utf-8", "cache-control": "no-cache" },
    });
  const hide = { detail: { hide: true } };
  return new Elysia({ name: "hookline-console" })
    .get("/console", page, hide)
    .get("/console/*", page, hide)
    .get(
      `${CONSOLE_ASSETS}/:file`,
      ({ params, set }) => {
        const file = CONSOLE_FILES.get(`${CONSOLE_ASSETS}/${params.file}`);
        if (!file) {
          set.status = 404;
          return new Response("Not found", { status: 404, headers: { ...SECURITY_HEADERS, "content-type": "text/plain; charset=utf-8" } });
        }
        const immutable = !params.file.startsWith("favicon");
        return new Response(file.body, {
          headers: {
            ...SECURITY_HEADERS,
            "content-type": file.type,
            "cache-control": immutable ? "public, max-age=31536000, immutable" : "public, max-age=86400",
          },
        });
      },
      hide,
    );
}
