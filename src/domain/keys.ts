import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { toIso } from "./clock.ts";
import type { DomainDeps } from "./deps.ts";
import { NotFoundError, ValidationError } from "./errors.ts";
import { newId } from "./ids.ts";
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
import type { ApiKeyRecord } from "./store.ts";

/** Recognisable in logs, config files and secret scanners. */
export const KEY_PREFIX = "hkl_";

export function generateApiKey(): string {
  return KEY_PREFIX + randomBytes(32).toString("base64url");
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

export interface KeyView {
  id: string;
  tenant_id: string;
  role: Role;
  name: string;
  prefix: string;
  created_at: string;
}

export function renderKey(k: ApiKeyRecord): KeyView {
  return {
    id: k.id,
    tenant_id: k.tenantId,
    role: k.role,
    name: k.name,
    prefix: k.prefix,
    created_at: toIso(k.createdAt),
  };
}

export interface KeyInput {
  tenant_id?: string;
  role?: unknown;
  name?: unknown;
}

function validateKeyInput(input: KeyInput): { role: Role; name: string; tenant?: string } {
  const errors: string[] = [];
  if (!isRole(input.role)) errors.push("role: must be one of viewer, publisher, admin");
  let name = "";
  if (input.name !== undefined) {
    if (typeof input.name !== "string") errors.push("name: must be a string");
    else if (input.name.length > 200) errors.push("name: must be at most 200 characters");
    else name = input.name;
  }
  const tenant = input.tenant_id;
  if (tenant !== undefined && tenant !== GLOBAL_TENANT && !TENANT_RE.test(tenant)) {
    errors.push(`tenant_id: must be "*" or match ${TENANT_RE.source}`);
  }
  if (errors.length > 0) throw new ValidationError(errors);
  return { role: input.role as Role, name, ...(tenant !== undefined ? { tenant } : {}) };
}

/** Creates a key; the caller shows `key` once, it is not kept. Used by the API and the CLI. */
export async function createKey(
  deps: Pick<DomainDeps, "store" | "clock">,
  principal: Principal | "operator",
  input: KeyInput,
): Promise<KeyView & { key: string }> {
  const { role, name, tenant: requested } = validateKeyInput(input);
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
  const now = deps.clock.now();
  const record: ApiKeyRecord = {
    id: newId("key", now),
    tenantId,
    role,
    name,
    prefix: key.slice(0, KEY_PREFIX.length + 6),
    hash: hashApiKey(key),
    createdAt: now,
    revokedAt: null,
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
