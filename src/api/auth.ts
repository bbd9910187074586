import { Elysia } from "elysia";
import { ForbiddenError, RateLimitedError, UnauthorizedError } from "../domain/errors.ts";
import { credentialKind, hashApiKey, keyUsable, sameSecret } from "../domain/keys.ts";
import { mayReach } from "../domain/portal-scope.ts";
import { GLOBAL_TENANT, isGlobal, type Principal, type Role, roleAtLeast } from "../domain/principal.ts";
import { UnusableBody } from "./body.ts";
import type { ApiDeps } from "./deps.ts";
import { jwtVerifierFor, looksLikeJwt } from "./jwt.ts";
import type { RateDecision } from "./rate-limit.ts";

export function credentialOf(headers: Headers): string | undefined {
  const authz = headers.get("authorization");
  if (authz) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authz);
    return m?.[1];
  }
  return headers.get("x-api-key")?.trim() || undefined;
}

export async function authenticate(deps: ApiDeps, credential: string): Promise<Principal | undefined> {
  const root = deps.config.auth.root_key;
  if (root !== undefined && sameSecret(credential, root)) {
    return { kind: "root", id: "root", tenant: GLOBAL_TENANT, role: "admin" };
  }
  const jwt = deps.config.auth.jwt;
  if (jwt !== undefined && looksLikeJwt(credential)) {
    const result = await jwtVerifierFor(jwt).verify(credential, deps.clock.now());
    if (result.ok) return result.principal;
    // Why a token was refused helps whoever sets up the identity provider; the client only
    // learns 401.
    deps.logger.debug({ reason: result.reason }, "JWT refused");
    return undefined;
  }
  // Only our own keys and portal tokens are looked up; anything else cannot match a stored hash.
  const kind = credentialKind(credential);
  if (kind === undefined) return undefined;
  const key = await deps.store.findKeyByHash(hashApiKey(credential));
  // An expired key is refused like a revoked one. The stored kind must be the prefix's: a row
  // of one kind never authenticates as the other.
  if (!key || key.kind !== kind || !keyUsable(key, deps.clock.now())) return undefined;
  if (kind === "portal") {
    // A portal token is always one tenant's (createPortalLink refuses "*").
    if (key.tenantId === GLOBAL_TENANT) return undefined;
    return { kind: "portal", id: key.id, tenant: key.tenantId, role: key.role, ...(key.expiresAt !== null ? { expiresAt: key.expiresAt } : {}) };
  }
  return { kind: "key", id: key.id, tenant: key.tenantId, role: key.role };
}

function rateHeaders(d: RateDecision): Record<string, string> {
  return {
    "ratelimit-limit": String(d.limit),
    "ratelimit-remaining": String(d.remaining),
    "ratelimit-reset": String(d.resetSeconds),
  };
}

const principals = new WeakMap<Request, Principal>();

/**
 * The `auth` route option: `{ auth: "publisher" }`. It runs at the transform stage, before body
 * and query validation, so a caller learns 401/403 before anything about its input.
 */
export function authPlugin(deps: ApiDeps) {
  // Built (and its key material checked) now, so a bad [auth.jwt] stops start-up rather than
  // refusing every token later.
  if (deps.config.auth.jwt !== undefined) jwtVerifierFor(deps.config.auth.jwt);
  function apply(d: RateDecision, set: { headers: Record<string, unknown> }): void {
    Object.assign(set.headers, rateHeaders(d));
    if (!d.allowed) throw new RateLimitedError(d.retryAfterSeconds);
  }
  // Synchronous when the limiter answers at once (this process's buckets, or tokens this replica
  // holds of a shared one), so the common case costs no extra turn of the event loop.
  function limit(key: string, set: { headers: Record<string, unknown> }): Promise<void> | undefined {
    if (!deps.limiter.enabled) return undefined;
    const taken = deps.limiter.take(key);
    if (taken instanceof Promise) return taken.then((d) => apply(d, set));
    apply(taken, set);
    return undefined;
  }
  return new Elysia({ name: "hookline-auth" }).macro({
    auth: (need: Role | "global-admin") => ({
      detail: {
        security: [{ bearerAuth: [] }, { apiKeyHeader: [] }],
        description:
          need === "global-admin" ? "Requires a **global admin** key." : `Requires role **${need}** or higher.`,
      },
      async transform({ request, body, set, server, route }) {
        const credential = credentialOf(request.headers);
        const principal = credential ? await authenticate(deps, credential) : undefined;
        if (!principal) {
          // Failed attempts are counted per client address, so guessing keys is slowed too.
          await limit(`addr:${server?.requestIP(request)?.address ?? "unknown"}`, set);
          throw new UnauthorizedError();
        }
        const limiting = limit(`cred:${principal.id}`, set);
        if (limiting) await limiting;
        // A portal link's token reaches the portal's routes only, whatever its role.
        if (!mayReach(principal, request.method, route)) {
          throw new ForbiddenError("A portal link can only manage its tenant's webhooks and read their deliveries.");
        }
        if (need === "global-admin") {
          if (!(isGlobal(principal) && principal.role === "admin")) {
            throw new ForbiddenError("Only a global admin key can do this.");
          }
        } else if (!roleAtLeast(principal.role, need)) {
          throw new ForbiddenError(`This call needs the ${need} role; your key is ${principal.role}.`);
        }
        if (body instanceof UnusableBody) throw body.error;
        principals.set(request, principal);
      },
      resolve({ request }) {
        const principal = principals.get(request);
        if (!principal) throw new UnauthorizedError();
        return { principal };
      },
    }),
  });
}
