// Who is signed in, from GET /v1/whoami: the credential's kind, role and tenant, so the pages
// show only the actions its role allows.
import { type Api, ApiError, must, type Whoami } from "./client.ts";

export interface Principal {
  /** Can manage webhooks, retries, keys (role admin). Viewers and publishers cannot. */
  admin: boolean;
  /** Tenant "*": sees every tenant and picks one. */
  global: boolean;
  /** The tenant of a tenant credential; null for a global one. */
  tenant: string | null;
  role: Whoami["role"];
  kind: Whoami["kind"];
  /** The key's or portal link's id (as GET /v1/keys lists it), "root", or the JWT's. */
  id: string;
  expiresAt: string | null;
}

export function principalOf(w: Whoami): Principal {
  const global = w.tenant_id === "*";
  return { admin: w.role === "admin", global, tenant: global ? null : w.tenant_id, role: w.role, kind: w.kind, id: w.id, expiresAt: w.expires_at };
}

export async function probePrincipal(api: Api): Promise<Principal> {
  try {
    return principalOf(await must(api.GET("/v1/whoami")));
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) throw new ApiError(401, "This key was not accepted (unknown, revoked or expired).");
    throw err;
  }
}
