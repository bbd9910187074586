import { type AnyElysia, Elysia } from "elysia";
import { DomainError } from "../domain/errors.ts";
import { parseJsonBody, UnusableBody } from "./body.ts";
import type { ApiDeps } from "./deps.ts";
import { consolePlugin } from "./console.ts";
import { docsPlugin } from "./docs.ts";
import { buildOpenApiDocument } from "./openapi-document.ts";
import { domainErrorResponse, errorResponse, validationMessages } from "./errors.ts";
import { headerBytes, MAX_HEADER_BYTES } from "./header-limit.ts";
import { deliveryRoutes } from "./routes/deliveries.ts";
import { eventTypeRoutes } from "./routes/event-types.ts";
import { eventRoutes } from "./routes/events.ts";
import { keyRoutes } from "./routes/keys.ts";
import { opsRoutes } from "./routes/ops.ts";
import { portalRoutes } from "./routes/portal-links.ts";
import { replayRoutes } from "./routes/replays.ts";
import { statsRoutes } from "./routes/stats.ts";
import { webhookRoutes } from "./routes/webhooks.ts";
import { whoamiRoutes } from "./routes/whoami.ts";

// Printable ASCII, spaces included; anything else (or longer) is replaced by our own id.
const REQUEST_ID_RE = /^[\x20-\x7e]{1,128}$/;

interface RequestMeta {
  id: string;
  start: number;
}

/** Turns "/v1/webhooks/:id" patterns into matchers, to tell 405 from 404. */
function routeMatchers(app: { routes: { method: string; path: string }[] }) {
  return app.routes.map((r) => ({
    method: r.method,
    re: new RegExp(
      `^${r.path
        .replace(/\/$/, "")
        .split("/")
        .map((seg) => (seg.startsWith(":") ? "[^/]+" : seg.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
        .join("/")}/?$`,
    ),
  }));
}

export function createApp(deps: ApiDeps) {
  const meta = new WeakMap<Request, RequestMeta>();
  const maxBody = deps.config.server.max_body_bytes;
  let matchers: ReturnType<typeof routeMatchers> | undefined;
  // The document describes the whole app, which exists only once this chain is built.
  let whole: AnyElysia | undefined;

  const app = new Elysia({ normalize: false })
    .onRequest(({ request, set }) => {
      const given = request.headers.get("x-request-id");
      const id = given && REQUEST_ID_RE.test(given) ? given : `req_${crypto.randomUUID()}`;
      meta.set(request, { id, start: performance.now() });
      set.headers["x-request-id"] = id;
      if (headerBytes(request.headers) > MAX_HEADER_BYTES) {
        set.status = 431;
        return errorResponse(
          431,
          {
            error: "request_header_fields_too_large",
            message: `The request's headers are over ${MAX_HEADER_BYTES} bytes.`,
          },
          { "x-request-id": id },
        );
      }
    })
    // Our own parser: size limit, content type and JSON errors become an UnusableBody that the
    // auth step throws after authentication (see api/auth.ts).
    .onParse({ as: "global" }, ({ request }) => parseJsonBody(request, maxBody, deps.config.security.max_json_depth))
    .onError({ as: "global" }, ({ code, error, request, set }) => {
      const requestId = meta.get(request)?.id;
      const headers: Record<string, string> = requestId ? { "x-request-id": requestId } : {};
      for (const [k, v] of Object.entries(set.headers)) if (typeof v === "string") headers[k] = v;
      const withHeaders = (res: Response) => {
        for (const [k, v] of Object.entries(headers)) if (!res.headers.has(k)) res.headers.set(k, v);
        // The request log and metrics read the status from `set` after the response.
        set.status = res.status;
        return res;
      };
      if (error instanceof DomainError) return withHeaders(domainErrorResponse(error));
      if (error instanceof UnusableBody) return withHeaders(domainErrorResponse(error.error));
      if (code === "VALIDATION") {
        const errors = validationMessages(error.all, error.type);
        return withHeaders(
          errorResponse(422, { error: "validation_failed", message: "The request is not valid.", errors }),
        );
      }
      if (code === "PARSE") {
        return withHeaders(errorResponse(400, { error: "bad_request", message: "The body could not be parsed." }));
      }
      if (code === "NOT_FOUND") {
        const path = new URL(request.url).pathname;
        matchers ??= routeMatchers(app);
        const allowed = [...new Set(matchers.filter((m) => m.re.test(path)).map((m) => m.method))];
        if (allowed.length > 0 && !allowed.includes(request.method)) {
          return withHeaders(
            errorResponse(
              405,
              { error: "method_not_allowed", message: `${request.method} is not allowed here; use ${allowed.join(", ")}.` },
              { allow: allowed.join(", ") },
            ),
          );
        }
        return withHeaders(errorResponse(404, { error: "not_found", message: `No route for ${request.method} ${path}.` }));
      }
      // Anything else is our bug: log it with the request id, show no stack trace.
      deps.logger.error({ err: error, request_id: requestId, method: request.method, url: request.url }, "unhandled error");
      return withHeaders(
        errorResponse(500, { error: "internal", message: `Internal error; quote request id ${requestId ?? "-"}.` }),
      );
    })
    .onAfterResponse({ as: "global" }, (ctx) => {
      const { request, set, responseValue } = ctx;
      const m = meta.get(request);
      const status = responseValue instanceof Response ? responseValue.status : Number(set.status ?? 200);
      const route = (ctx as { route?: string }).route || "unmatched";
      deps.metrics.countRequest(request.method, route, status);
      deps.logger.info(
        {
          request_id: m?.id,
          method: request.method,
          path: pathOf(request.url),
          status,
          duration_ms: m ? Math.round((performance.now() - m.start) * 100) / 100 : undefined,
        },
        "request",
      );
    })
    .use(docsPlugin(() => buildOpenApiDocument(whole as AnyElysia, deps.version)))
    .use(consolePlugin(deps.config.console))
    .use(opsRoutes(deps))
    .use(keyRoutes(deps))
    .use(eventTypeRoutes(deps))
    .use(webhookRoutes(deps))
    .use(replayRoutes(deps))
    .use(eventRoutes(deps))
    .use(deliveryRoutes(deps))
    .use(statsRoutes(deps))
    .use(portalRoutes(deps))
    .use(whoamiRoutes(deps));
  whole = app;
  return app;
}

export type App = ReturnType<typeof createApp>;

/** The path of a request's absolute URL, without parsing it all (once per logged request). */
export function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start < 0) return "/";
  const end = url.slice(start).search(/[?#]/);
  return end < 0 ? url.slice(start) : url.slice(start, start + end);
}
