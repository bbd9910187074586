import { Elysia, t } from "elysia";
import { ForbiddenError, UnauthorizedError } from "../../domain/errors.ts";
import { isGlobal } from "../../domain/principal.ts";
import { authenticate, credentialOf } from "../auth.ts";
import type { ApiDeps } from "../deps.ts";

const readiness = t.Object({
  status: t.String(),
  store: t.Union([t.Literal("sqlite"), t.Literal("postgres")], { description: "The store this replica runs on" }),
  checks: t.Record(t.String(), t.Boolean()),
});

/** Liveness, readiness and metrics, outside /v1: no rate limit; metrics optionally behind a key. */
export function opsRoutes(deps: ApiDeps) {
  // API.md §11: /readyz names the store. database.url is what makes PostgreSQL the store
  // (openStore); beside `checks`, not in it, so every check stays a boolean a monitor can AND.
  const store = deps.config.database.url ? "postgres" : "sqlite";
  return new Elysia({ detail: { tags: ["Operations"] } })
    .get(
      "/metrics",
      async ({ request }) => {
        if (deps.config.metrics.require_auth) {
          const credential = credentialOf(request.headers);
          const principal = credential ? await authenticate(deps, credential) : undefined;
          if (!principal) throw new UnauthorizedError();
          // Metrics describe every tenant at once.
          if (!isGlobal(principal)) throw new ForbiddenError("Metrics need a global key.");
        }
        return new Response(await deps.metrics.text(), { headers: { "content-type": deps.metrics.contentType } });
      },
      {
        detail: {
          summary: "Prometheus metrics (a global key when metrics.require_auth)",
          responses: { 200: { description: "Prometheus text format", content: { "text/plain": { schema: { type: "string" } } } } },
        },
      },
    )
    .get("/healthz", () => ({ status: "ok", version: deps.version }), {
      response: t.Object({ status: t.String(), version: t.String() }),
      detail: { summary: "Alive" },
    })
    .get(
      "/readyz",
      async ({ set }) => {
        const r = await deps.readiness();
        if (!r.ready) {
          set.status = 503;
          set.headers["retry-after"] = "5";
        }
        return { status: r.ready ? "ready" : "unavailable", store, checks: r.checks };
      },
      {
        response: { 200: readiness, 503: readiness },
        detail: { summary: "Ready: the database is writable and the dispatcher runs; which store it is" },
      },
    );
}
