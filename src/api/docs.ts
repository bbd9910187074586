import { openapi } from "@elysiajs/openapi";
import { Elysia } from "elysia";
// Embedded into the compiled binary: /docs works with no network (the stock page loads
// Swagger UI from a CDN).
import swaggerCss from "swagger-ui-dist/swagger-ui.css" with { type: "file" };
import swaggerBundle from "swagger-ui-dist/swagger-ui-bundle.js" with { type: "file" };

const ASSETS = "/docs-assets";
const cacheable = { "cache-control": "public, max-age=86400" };

export function docsPlugin(version: string) {
  return new Elysia({ name: "hookline-docs" })
    .get(`${ASSETS}/swagger-ui.css`, () => new Response(Bun.file(swaggerCss), { headers: { ...cacheable, "content-type": "text/css; charset=utf-8" } }), { detail: { hide: true } })
    .get(`${ASSETS}/swagger-ui-bundle.js`, () => new Response(Bun.file(swaggerBundle), { headers: { ...cacheable, "content-type": "text/javascript; charset=utf-8" } }), { detail: { hide: true } })
    .use(
      openapi({
        path: "/docs",
        specPath: "/openapi.json",
        provider: "swagger-ui",
        exclude: { paths: [/^\/docs/] },
        swagger: {
          cdn: `${ASSETS}/swagger-ui-bundle.js`,
          theme: `${ASSETS}/swagger-ui.css`,
          autoDarkMode: false,
          // An absolute spec URL, so /docs and /docs/ both find it.
          ...({ url: "/openapi.json" } as object),
        },
        documentation: {
          info: {
            title: "Hookline API",
            version,
            description:
              "Self-hosted webhook delivery. Authenticate with `Authorization: Bearer <key>` or `X-API-Key: <key>`.",
          },
          components: {
            securitySchemes: {
              bearerAuth: { type: "http", scheme: "bearer", description: "An API key (hkl_…) or the root key" },
              apiKeyHeader: { type: "apiKey", in: "header", name: "X-API-Key" },
            },
          },
        },
      }),
    );
}
