import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { toIso } from "./clock.ts";
import type { DomainDeps } from "./deps.ts";
import { NotFoundError, ValidationError } from "./errors.ts";
import { newId } from "../lib/ids.ts";
import { type Page, type PageRequest, toPage } from "./pagination.ts";
import {
  canSee,
  GLOBAL_TENANT,
  isRole,
  type Principal,
  requireGlobalAdmin,
  type Role,
  TENANT_RE,
  tenantForRead,
} from "./principal.ts";
import type { ApiKeyRecord, KeyKind } from "./store.ts";
import { controlCharsError, hasControlCharacters } from "../lib/text.ts";

/** Recognisable in logs, config files and secret scanners. */
export const KEY_PREFIX = "hkl_";
/** A portal link's token: never mistaken for an API key, by a person or by authenticate. */
export const PORTAL_TOKEN_PREFIX = "hkp_";

export function generateApiKey(prefix: string = KEY_PREFIX): string {
  return prefix + randomBytes(32).toString("base64url");
}

/** What a stored credential is, by its prefix; undefined for anything that is not ours. */
export function credentialKind(credential: string): KeyKind | undefined {
  if (credential.startsWith(KEY_PREFIX)) return "key";
  if (credential.startsWith(PORTAL_TOKEN_PREFIX)) return "portal";
  return undefined;
}

// Keys are 256 random bits, so a fast hash is enough: nothing to brute-force, and every
// request looks a key up by its hash.
export function hashApiKey(key: string): string {
  return createHash("sha256").update(key, "utf8").digest("hex");
}

/** Constant-time comparison, for the root key from config. */
export function sameSecret(a: string, b: string): boolean {
  const ha = createHash("sha256").update(a).digest();
  const hb = createHash("sha256").update(b).digest();
  return timingSafeEqual(ha, hb);
}


/** Whether a key can authenticate at `now`: not revoked and not past its expiry. */
export function keyUsable(k: ApiKeyRecord, now: number): boolean {
  const expiresAt = k.expiresAt;
  return k.revokedAt === null && (expiresAt === null || now < expiresAt);
}

export interface KeyView {
  id: string;
  tenant_id: string;
  role: Role;
  name: string;
  prefix: string;
  created_at: string;
  /** null when the key never expires. Expired keys stay listed (until revoked) with this date. */
  expires_at: string | null;
  /** "portal": a portal link's token (POST /v1/portal-links), revoked like a key. */
  kind: KeyKind;
}

export function renderKey(k: ApiKeyRecord): KeyView {
  const expiresAt = k.expiresAt;
  return {
    id: k.id,
    tenant_id: k.tenantId,
    role: k.role,
    name: k.name,
    prefix: k.prefix,
    created_at: toIso(k.createdAt),
    expires_at: expiresAt === null ? null : toIso(expiresAt),
    kind: k.kind,
  };
}

export interface KeyInput {
  tenant_id?: string;
  role?: unknown;
  name?: unknown;
  /** RFC 3339 with an offset or Z; must be in the future. The CLI turns `--expires-in 30d` into it. */
  expires_at?: unknown;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * Milliseconds for an RFC 3339 timestamp, or undefined. Stricter than Date.parse, which reads
 * "2026-02-30" as March 2nd and accepts strings without a time zone in local time.
 */
export function parseRfc3339(input: string): number | undefined {
  const m = RFC3339.exec(input);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const d = new Date(Date.UTC(year, month - 1, day));
  if (d.getUTCFullYear() !== year || d.getUTCMonth() !== month - 1 || d.getUTCDate() !== day) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const ms = Date.parse(input.toUpperCase());
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * The key's expiry (ms) or null for never. `limit` is when the creating credential itself stops
 * working (a JWT's exp): a key made with it expires no later, or a one-hour SSO token could mint
 * a key that outlives the user's removal from the identity provider. Without an expires_at such a
 * key gets the token's exp (shown in the 201); a later expires_at is refused, never shortened.
 */
function validateExpiry(value: unknown, now: number, limit: number | undefined, errors: string[]): number | null {
  let at: number | null = null;
  if (value !== undefined && value !== null) {
    const parsed = typeof value === "string" ? parseRfc3339(value) : undefined;
    if (parsed === undefined) {
      errors.push("expires_at: must be an RFC 3339 timestamp with a time zone, e.g. 2027-01-31T00:00:00Z");
      return null;
    }
    if (parsed <= now) errors.push("expires_at: must be in the future");
    at = parsed;
  }
  if (limit === undefined) return at;
  if (at === null) {
    // Only within auth.jwt.leeway after exp: the key would be born expired.
    if (limit <= now) errors.push(`expires_at: the token creating this key expired at ${toIso(limit)}; sign in again`);
    return limit;
  }
  if (at > limit) {
    errors.push(`expires_at: must not be later than ${toIso(limit)}, when the token creating this key expires`);
  }
  return at;
}

function validateKeyInput(
  input: KeyInput,
  now: number,
  limit: number | undefined,
): { role: Role; name: string; tenant?: string; expiresAt: number | null } {
  const errors: string[] = [];
  if (!isRole(input.role)) errors.push("role: must be one of viewer, publisher, admin");
  let name = "";
  if (input.name !== undefined) {
    if (typeof input.name !== "string") errors.push("name: must be a string");
    else if (input.name.length > 200) errors.push("name: must be at most 200 characters");
    // Names are printed by `hookline keys list` and the console: no forged columns or lines.
    else if (hasControlCharacters(input.name)) errors.push(controlCharsError("name"));
    else name = input.name;
  }
  const tenant = input.tenant_id;
  if (tenant !== undefined && tenant !== GLOBAL_TENANT && !TENANT_RE.test(tenant)) {
    errors.push(`tenant_id: must be "*" or match ${TENANT_RE.source}`);
  }
  const expiresAt = validateExpiry(input.expires_at, now, limit, errors);
  if (errors.length > 0) throw new ValidationError(errors);
  return { role: input.role as Role, name, expiresAt, ...(tenant !== undefined ? { tenant } : {}) };
}

/** Creates a key; the caller shows `key` once, it is not kept. Used by the API and the CLI. */
export async function createKey(
  deps: Pick<DomainDeps, "store" | "clock">,
  principal: Principal | "operator",
  input: KeyInput,
): Promise<KeyView & { key: string }> {
  const now = deps.clock.now();
  const limit = principal === "operator" ? undefined : principal.expiresAt;
  const { role, name, tenant: requested, expiresAt } = validateKeyInput(input, now, limit);
  let tenantId: string;
  if (principal === "operator") {
    if (requested === undefined) throw new ValidationError(["tenant_id: is required"]);
    tenantId = requested;
  } else if (principal.tenant === GLOBAL_TENANT) {
    if (requested === undefined) {
      throw new ValidationError(["tenant_id: is required when a global key creates a key"]);
    }
    tenantId = requested;
  } else {
    // A tenant admin may mint keys up to admin in its own tenant, never global ones.
    if (requested !== undefined && requested !== principal.tenant) requireGlobalAdmin(principal);
    tenantId = principal.tenant;
  }
  const key = generateApiKey();
  const record: ApiKeyRecord = {
    id: newId("key", now),
    tenantId,
    role,
    name,
    prefix: key.slice(0, KEY_PREFIX.length + 6),
    hash: hashApiKey(key),
    createdAt: now,
    revokedAt: null,
    expiresAt,
    kind: "key",
  };
  await deps.store.insertKey(record);
  return { ...renderKey(record), key };
}

export async function listKeys(
  deps: Pick<DomainDeps, "store">,
  principal: Principal,
  page: PageRequest,
  tenant?: string,
): Promise<Page<KeyView>> {
  const tenantId = tenantForRead(principal, tenant);
  const rows = await deps.store.listKeys({ ...page, ...(tenantId !== undefined ? { tenantId } : {}) });
  return toPage(rows, page.limit, renderKey);
}

export async function revokeKey(
  deps: Pick<DomainDeps, "store" | "clock">,
  principal: Principal | "operator",
  id: string,
): Promise<void> {
  const key = await deps.store.getKey(id);
  if (!key || key.revokedAt !== null || (principal !== "operator" && !canSee(principal, key.tenantId))) {
    throw new NotFoundError("Key");
  }
  await deps.store.revokeKey(id, deps.clock.now());
}
