// POST /v1/portal-links (API.md §12): an expiring link that lets one tenant's customer manage its
// own webhooks in /portal. The link carries a token stored as a key is (only its hash, in
// api_keys with kind "portal"), so GET /v1/keys lists it and DELETE /v1/keys/{id} revokes it;
// what the token may call is portal-scope.ts's rule.
import { parseDuration } from "../lib/duration.ts";
import { newId } from "../lib/ids.ts";
import { toIso } from "./clock.ts";
import type { DomainDeps } from "./deps.ts";
import { ValidationError } from "./errors.ts";
import { generateApiKey, hashApiKey, PORTAL_TOKEN_PREFIX } from "./keys.ts";
import { type Principal, type Role, tenantForCreate } from "./principal.ts";
import type { ApiKeyRecord } from "./store.ts";

const HOUR = 3_600_000;
const DEFAULT_TTL = "1h";
const MIN_TTL_MS = 60_000;
const MAX_TTL_MS = 7 * 24 * HOUR;
const PORTAL_ROLES: readonly Role[] = ["admin", "viewer"];

export interface PortalLinkInput {
  tenant_id?: string;
  ttl?: unknown;
  role?: unknown;
}

export interface PortalLinkView {
  id: string;
  url: string;
  expires_at: string;
}

/**
 * Makes a link under `base` (the server's public URL, no trailing slash). A tenant admin makes
 * links for its own tenant, a global admin for the tenant it names (the route requires admin).
 * The token is in the URL's fragment, which browsers never send to a server: it stays out of
 * access logs and Referer headers.
 */
export async function createPortalLink(
  deps: Pick<DomainDeps, "store" | "clock">,
  principal: Principal,
  input: PortalLinkInput,
  base: string,
): Promise<PortalLinkView> {
  const now = deps.clock.now();
  const errors: string[] = [];
  const tenantId = tenantForCreate(principal, input.tenant_id, errors);
  let ttlMs = parseDuration(DEFAULT_TTL) as number;
  if (input.ttl !== undefined) {
    const parsed = typeof input.ttl === "string" ? parseDuration(input.ttl) : undefined;
    if (parsed === undefined || parsed < MIN_TTL_MS || parsed > MAX_TTL_MS) {
      errors.push("ttl: must be a duration from 1m to 7d, such as '1h' or '2d'");
    } else ttlMs = parsed;
  }
  let role: Role = "admin";
  if (input.role !== undefined) {
    if (typeof input.role === "string" && (PORTAL_ROLES as readonly string[]).includes(input.role)) role = input.role as Role;
    else errors.push("role: must be admin or viewer");
  }
  const expiresAt = now + ttlMs;
  // As with keys (createKey): a credential never outlives the one that made it (a JWT's exp).
  if (principal.expiresAt !== undefined && expiresAt > principal.expiresAt && errors.length === 0) {
    errors.push(`ttl: the link must expire by ${toIso(principal.expiresAt)}, when the token creating it expires`);
  }
  if (errors.length > 0) throw new ValidationError(errors);
  const token = generateApiKey(PORTAL_TOKEN_PREFIX);
  const record: ApiKeyRecord = {
    id: newId("key", now),
    tenantId,
    role,
    name: "portal link",
    prefix: token.slice(0, PORTAL_TOKEN_PREFIX.length + 6),
    hash: hashApiKey(token),
    createdAt: now,
    revokedAt: null,
    expiresAt,
    kind: "portal",
  };
  await deps.store.insertKey(record);
  return { id: record.id, url: `${base}/portal#token=${token}`, expires_at: toIso(expiresAt) };
}
