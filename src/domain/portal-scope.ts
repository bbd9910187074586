// What a portal link's token may call (API.md §12): the portal's pages and nothing else — its
// tenant's webhooks (create, read, change, delete, test, rotate, recover, replay), their deliveries and
// attempts (and a retry), an event's body as its deliveries show it, the event type catalog and
// the stats. Not keys, not publishing, not portal links: those are the team's, and a customer
// holding a link must not be able to mint itself a lasting credential or send events as the team.
//
// An allowlist of routes, as the router names them: a route added later is out of the portal's
// reach until it is listed here. Pure; the auth macro (api/auth.ts) asks it before the role check,
// so a portal token beyond its scope is 403 whatever its role; roles and tenants then apply as to
// any credential (a viewer link changes nothing, another tenant's resource is 404).
import type { Principal } from "./principal.ts";

const PORTAL_ROUTES: ReadonlySet<string> = new Set([
  "GET /v1/webhooks",
  "POST /v1/webhooks",
  "GET /v1/webhooks/:id",
  "PATCH /v1/webhooks/:id",
  "DELETE /v1/webhooks/:id",
  "GET /v1/webhooks/:id/deliveries",
  "GET /v1/webhooks/:id/stats",
  "POST /v1/webhooks/:id/test",
  "POST /v1/webhooks/:id/rotate-secret",
  "POST /v1/webhooks/:id/recover",
  // A customer whose endpoint was down replays its own webhook's past events, as it recovers
  // them: the tenant's events reach only that endpoint, paced so fresh deliveries go first.
  "POST /v1/webhooks/:id/replay",
  "GET /v1/webhooks/:id/replays/:replay_id",
  "GET /v1/deliveries/:id",
  "POST /v1/deliveries/:id/retry",
  // One event by id, as a delivery names it (its body and its deliveries, all to this tenant's
  // webhooks); the list of every event the team published is not the portal's.
  "GET /v1/events/:id",
  "GET /v1/event-types",
  "GET /v1/stats/deliveries",
  "GET /v1/portal/branding",
  // The token's own kind, role and expiry: the portal hides what a viewer link may not do.
  "GET /v1/whoami",
]);

/** Whether `principal` may call the route (`method`, and the route's pattern such as "/v1/webhooks/:id"). */
export function mayReach(principal: Pick<Principal, "kind">, method: string, route: string): boolean {
  if (principal.kind !== "portal") return true;
  return PORTAL_ROUTES.has(`${method.toUpperCase()} ${route}`);
}
