import { Elysia } from "elysia";
// Embedded into the compiled binary: /docs works with no network.
import swaggerCss from "swagger-ui-dist/swagger-ui.css" with { type: "file" };
import swaggerBundle from "swagger-ui-dist/swagger-ui-bundle.js" with { type: "file" };
import type { JsonObject } from "./openapi-finish.ts";

const ASSETS = "/docs-assets";
const cacheable = { "cache-control": "public, max-age=86400" };

// Our own page rather than the plugin's: its page starts Swagger UI from an inline script and
// serves the unfinished document. Here the start-up is a file of its own (so the page works under
// a CSP without 'unsafe-inline') and reads the finished document. The credential typed into
// "Authorize" stays in the page's memory (no persistAuthorization: nothing in localStorage).
const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Hookline API</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${ASSETS}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="${ASSETS}/swagger-ui-bundle.js"></script>
<script src="${ASSETS}/swagger-init.js"></script>
</body>
</html>
`;

const INIT = `// Starts Swagger UI on the finished document (an absolute URL, so /docs and /docs/ both work).
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  displayRequestDuration: true,
  tryItOutEnabled: false,
  persistAuthorization: false,
});
`;

/**
 * /docs (Swagger UI, offline), its assets, and /openapi.json. `document` builds the OpenAPI
 * document of the whole app; it is called once, on the first request that needs it.
 */
export function docsPlugin(document: () => JsonObject) {
  let built: string | undefined;
  const json = () => {
    built ??= JSON.stringify(document());
    return new Response(built, { headers: { "content-type": "application/json; charset=utf-8" } });
  };
  const html = () => new Response(PAGE, { headers: { "content-type": "text/html; charset=utf-8" } });
  const hide = { detail: { hide: true } };
  return new Elysia({ name: "hookline-docs" })
    .get("/docs", html, hide)
    .get("/docs/", html, hide)
    .get("/openapi.json", json, hide)
    .get(`${ASSETS}/swagger-ui.css`, () => new Response(Bun.file(swaggerCss), { headers: { ...cacheable, "content-type": "text/css; charset=utf-8" } }), hide)
    .get(`${ASSETS}/swagger-ui-bundle.js`, () => new Response(Bun.file(swaggerBundle), { headers: { ...cacheable, "content-type": "text/javascript; charset=utf-8" } }), hide)
    .get(`${ASSETS}/swagger-init.js`, () => new Response(INIT, { headers: { ...cacheable, "content-type": "text/javascript; charset=utf-8" } }), hide);
}
