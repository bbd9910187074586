// Who is signed in. The API has no "who am I" call, so the console asks it the way a curl user
// would, with reads only: GET /v1/keys answers 403 to anyone below admin, and a malformed
// ?tenant= is refused (422) only for a global credential (a tenant one's reads ignore it).
import { type Api, ApiError, type ApiKey } from "./client.ts";

export interface Principal {
  /** Can manage webhooks, retries, keys (role admin). Viewers and publishers cannot. */
  admin: boolean;
  /** Tenant "*": sees every tenant and picks one. */
  global: boolean;
  /** The tenant of a tenant credential, when the API showed it. */
  tenant: string | null;
  /** The key's own record, when an admin's list shows it (matched by its visible prefix). */
  key: ApiKey | null;
}

const INVALID_TENANT = "!";

export async function probePrincipal(api: Api, credential: string): Promise<Principal> {
  const webhooks = await api.GET("/v1/webhooks", { params: { query: { limit: "1", tenant: INVALID_TENANT } } });
  if (webhooks.response.status === 401) throw new ApiError(401, "This key was not accepted (unknown, revoked or expired).");
  if (webhooks.response.status !== 200 && webhooks.response.status !== 422) {
    throw new ApiError(webhooks.response.status, `The server answered ${webhooks.response.status}; try again.`);
  }
  const global = webhooks.response.status === 422;
  const keys = await api.GET("/v1/keys", { params: { query: { limit: "100" } } });
  const admin = keys.response.status === 200;
  const own = keys.data?.data.find((k) => credential.startsWith(k.prefix)) ?? null;
  let tenant: string | null = null;
  if (!global) tenant = own?.tenant_id ?? keys.data?.data[0]?.tenant_id ?? webhooks.data?.data[0]?.tenant_id ?? null;
  return { admin, global, tenant, key: own };
}
