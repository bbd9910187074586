import { Elysia, t } from "elysia";
import type { ApiDeps } from "../deps.ts";

/** Liveness and readiness, outside /v1: no auth, no rate limit. */
export function opsRoutes(deps: ApiDeps) {
  return new Elysia({ detail: { tags: ["Operations"] } })
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
        return { status: r.ready ? "ready" : "unavailable", checks: r.checks };
      },
      {
        response: {
          200: t.Object({ status: t.String(), checks: t.Record(t.String(), t.Boolean()) }),
          503: t.Object({ status: t.String(), checks: t.Record(t.String(), t.Boolean()) }),
        },
        detail: { summary: "Ready: the database is writable and the dispatcher runs" },
      },
    );
}
