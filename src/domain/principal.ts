import { ForbiddenError, ValidationError } from "./errors.ts";

export const ROLES = ["viewer", "publisher", "admin"] as const;
export type Role = (typeof ROLES)[number];

export const GLOBAL_TENANT = "*";
export const TENANT_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** Who is calling: resolved once per request by the auth layer. */
export interface Principal {
  /**
   * "jwt": a bearer token verified against `[auth.jwt]`; always bound to one tenant. "portal": a
   * portal link's token, bound to one tenant and limited to the portal's routes (portal-scope.ts).
   */
  kind: "root" | "key" | "jwt" | "portal";
  /**
   * Key id, "root", or "jwt:<tenant>:<sub, jti or token hash>". Rate limits are counted per
   * principal id, so every token of one JWT subject shares one bucket.
   */
  id: string;
  /** A tenant id, or "*" for global credentials. */
  tenant: string;
  role: Role;
  /**
   * When the credential stops working (ms), for a JWT its `exp`. Credentials created by this
   * principal must not outlive it (see createKey).
   */
  expiresAt?: number;
}

export function isRole(value: unknown): value is Role {
  return typeof value === "string" && (ROLES as readonly string[]).includes(value);
}

export function roleAtLeast(have: Role, need: Role): boolean {
  return ROLES.indexOf(have) >= ROLES.indexOf(need);
}

export function isGlobal(p: Principal): boolean {
  return p.tenant === GLOBAL_TENANT;
}

/** A resource of another tenant is reported as missing, never as forbidden. */
export function canSee(p: Principal, tenantId: string): boolean {
  return isGlobal(p) || p.tenant === tenantId;
}

export function requireGlobalAdmin(p: Principal): void {
  if (!(isGlobal(p) && p.role === "admin")) {
    throw new ForbiddenError("Only a global admin key can do this.");
  }
}

/**
 * The tenant a new resource belongs to. Tenant credentials may omit it or name their own tenant
 * (another is a 403, thrown at once); global credentials must name one — a missing or malformed
 * one is added to `errors`, to be reported with the body's other problems (the result is then "").
 */
export function tenantForCreate(p: Principal, requested: string | undefined, errors: string[]): string {
  if (isGlobal(p)) {
    if (requested === undefined) {
      errors.push("tenant_id: is required when a global key creates a resource");
      return "";
    }
    if (!TENANT_RE.test(requested)) {
      errors.push(`tenant_id: must match ${TENANT_RE.source}`);
      return "";
    }
    return requested;
  }
  if (requested !== undefined && requested !== p.tenant) {
    throw new ForbiddenError("A tenant key can only act in its own tenant.");
  }
  return p.tenant;
}

/** The tenant filter for reads: tenant credentials see their own; global ones all, or `?tenant=`. */
export function tenantForRead(p: Principal, requested: string | undefined): string | undefined {
  if (!isGlobal(p)) return p.tenant;
  if (requested !== undefined && !TENANT_RE.test(requested)) {
    throw new ValidationError([`tenant: must match ${TENANT_RE.source}`]);
  }
  return requested;
}
