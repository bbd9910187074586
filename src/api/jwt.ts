// Bearer JWTs as an alternative to API keys ([auth.jwt]). The verifier is built once from the
// config: key material is read and checked at start, so a token never triggers file or network
// access. Claims name the tenant and the role; a token is never global.
import { createHash, createPublicKey, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { createLocalJWKSet, type JSONWebKeySet, type JWK, type JWTPayload, jwtVerify, type JWTVerifyOptions } from "jose";
import type { JwtConfig } from "../config/types.ts";
import { isRole, type Principal, type Role, roleAtLeast, TENANT_RE } from "../domain/principal.ts";

export type JwtResult = { ok: true; principal: Principal } | { ok: false; reason: string };

export interface JwtVerifier {
  /** The accepted `alg` values, after defaults. */
  readonly algorithms: readonly string[];
  verify(token: string, now: number): Promise<JwtResult>;
}

/** A refused `[auth.jwt]` table: start-up fails with this message. */
export class JwtConfigError extends Error {
  override name = "JwtConfigError";
}

const HMAC = ["HS256", "HS384", "HS512"];
// RFC 7518 §3.2: an HMAC key at least as long as the hash. config/schema.ts refuses a secret
// under 32 bytes with the key's line; this also covers HS384/HS512 and configs built in code.
const HMAC_MIN_BYTES: Record<string, number> = { HS256: 32, HS384: 48, HS512: 64 };
const RSA = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"];
const RSA_PSS = ["PS256", "PS384", "PS512"];
const OKP = ["EdDSA", "Ed25519"];
const EC_BY_CURVE: Record<string, string> = {
  prime256v1: "ES256",
  "P-256": "ES256",
  secp384r1: "ES384",
  "P-384": "ES384",
  secp521r1: "ES512",
  "P-521": "ES512",
};

/** 9999-12-31T23:59:59Z: the latest RFC 3339 time, for tokens whose exp is further away. */
const LATEST_DATE_MS = Date.UTC(9999, 11, 31, 23, 59, 59);

/** Three base64url parts separated by dots (the last may be empty, as in `alg: none` tokens). */
export function looksLikeJwt(credential: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(credential);
}

type KeySource = { key: Uint8Array | KeyObject; allowed: string[] } | { jwks: JSONWebKeySet; allowed: string[] };

function algsOfPublicKey(key: KeyObject): string[] {
  switch (key.asymmetricKeyType) {
    case "rsa":
      return RSA;
    case "rsa-pss":
      return RSA_PSS;
    case "ec": {
      const alg = EC_BY_CURVE[key.asymmetricKeyDetails?.namedCurve ?? ""];
      return alg ? [alg] : [];
    }
    case "ed25519":
      return OKP;
    default:
      return [];
  }
}

function algsOfJwk(jwk: JWK): string[] {
  if (typeof jwk.alg === "string") return [jwk.alg];
  if (jwk.kty === "RSA") return RSA;
  if (jwk.kty === "EC") {
    const alg = EC_BY_CURVE[jwk.crv ?? ""];
    return alg ? [alg] : [];
  }
  if (jwk.kty === "OKP" && jwk.crv === "Ed25519") return OKP;
  return [];
}

// Environment variables cannot hold newlines easily: accept "\n" escapes in a one-line PEM.
function pemText(value: string): string {
  return value.includes("\n") ? value : value.replaceAll("\\n", "\n");
}

function publicKeySource(pem: string): KeySource {
  const text = pemText(pem);
  if (/PRIVATE KEY/.test(text)) {
    throw new JwtConfigError("auth.jwt.public_key: holds a private key; configure the public key only");
  }
  let key: KeyObject;
  try {
    key = createPublicKey(text);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new JwtConfigError(`auth.jwt.public_key: is not a PEM public key (${reason})`);
  }
  const allowed = algsOfPublicKey(key);
  if (allowed.length === 0) {
    throw new JwtConfigError(
      `auth.jwt.public_key: a ${key.asymmetricKeyType ?? "unknown"} key is not supported; use an RSA, EC (P-256/384/521) or Ed25519 key`,
    );
  }
  return { key, allowed };
}

function jwksSource(file: string, readFile: (path: string) => string): KeySource {
  let jwks: unknown;
  try {
    jwks = JSON.parse(readFile(file));
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new JwtConfigError(`auth.jwt.jwks_file: cannot read a JWKS from ${file} (${reason})`);
  }
  const keys = (jwks as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0) {
    throw new JwtConfigError(`auth.jwt.jwks_file: ${file} must be a JSON object with a non-empty "keys" array`);
  }
  const allowed = new Set<string>();
  for (const [i, jwk] of (keys as JWK[]).entries()) {
    if (jwk.kty === "oct" || jwk.d !== undefined) {
      throw new JwtConfigError(`auth.jwt.jwks_file: keys[${i}] is a secret or private key; the file must hold public keys only`);
    }
    for (const alg of algsOfJwk(jwk)) allowed.add(alg);
  }
  return { jwks: { keys: keys as JWK[] }, allowed: [...allowed] };
}

function keySource(cfg: JwtConfig, readFile: (path: string) => string): KeySource {
  if (cfg.secret !== undefined) return { key: new TextEncoder().encode(cfg.secret), allowed: HMAC };
  if (cfg.public_key !== undefined) return publicKeySource(cfg.public_key);
  if (cfg.jwks_file !== undefined) return jwksSource(cfg.jwks_file, readFile);
  throw new JwtConfigError("auth.jwt: must set exactly one of secret, public_key or jwks_file");
}

function chooseAlgorithms(cfg: JwtConfig, allowed: string[]): string[] {
  const sourceName = cfg.secret !== undefined ? "secret" : cfg.public_key !== undefined ? "public_key" : "jwks_file";
  // Only HS256 by default for a secret (what API.md promises); a public key accepts its family.
  const wanted = cfg.algorithms ?? (sourceName === "secret" ? ["HS256"] : allowed);
  if (wanted.length === 0) {
    throw new JwtConfigError(`auth.jwt.algorithms: ${sourceName} allows no algorithm that Hookline supports`);
  }
  for (const alg of wanted) {
    if (alg.toLowerCase() === "none") throw new JwtConfigError(`auth.jwt.algorithms: "none" is never accepted`);
    if (alg.startsWith("HS") && sourceName !== "secret") {
      // HS* verified with public key bytes would let anyone holding the public key mint tokens.
      throw new JwtConfigError(
        `auth.jwt.algorithms: ${alg} needs a shared secret and is never accepted with ${sourceName}; use ${allowed.join(", ") || "an asymmetric algorithm"}`,
      );
    }
    if (!allowed.includes(alg)) {
      throw new JwtConfigError(
        `auth.jwt.algorithms: ${alg} cannot be verified with the configured ${sourceName}; it allows ${allowed.join(", ")}`,
      );
    }
    const minBytes = HMAC_MIN_BYTES[alg];
    if (cfg.secret !== undefined && minBytes !== undefined && Buffer.byteLength(cfg.secret, "utf8") < minBytes) {
      throw new JwtConfigError(
        alg === "HS256"
          ? `auth.jwt.secret: must be at least ${minBytes} bytes; generate one with: openssl rand -base64 32`
          : `auth.jwt.algorithms: ${alg} needs an auth.jwt.secret of at least ${minBytes} bytes`,
      );
    }
  }
  return [...wanted];
}

function parseRoleMap(entries: readonly string[] | undefined): Map<string, Role> | undefined {
  if (entries === undefined) return undefined;
  const map = new Map<string, Role>();
  for (const entry of entries) {
    const at = entry.lastIndexOf("=");
    const role = entry.slice(at + 1);
    if (at <= 0 || !isRole(role)) {
      throw new JwtConfigError(`auth.jwt.role_map: "${entry}" must look like "<claim value>=<viewer|publisher|admin>"`);
    }
    map.set(entry.slice(0, at), role);
  }
  return map;
}

/** The strongest role named by the claim (a string or an array of strings), or undefined. */
function roleFrom(claim: unknown, roleMap: Map<string, Role> | undefined): Role | undefined {
  const values = typeof claim === "string" ? [claim] : Array.isArray(claim) ? claim : [];
  let best: Role | undefined;
  for (const value of values) {
    if (typeof value !== "string") continue;
    // With a role_map only mapped values count: an identity provider's own "admin" is not ours.
    const role = roleMap ? roleMap.get(value) : isRole(value) ? value : undefined;
    if (role && (best === undefined || roleAtLeast(role, best))) best = role;
  }
  return best;
}

function subjectOf(payload: JWTPayload, token: string): string {
  if (typeof payload.sub === "string" && payload.sub !== "") return payload.sub;
  if (typeof payload.jti === "string" && payload.jti !== "") return payload.jti;
  return `sha256:${createHash("sha256").update(token).digest("hex").slice(0, 32)}`;
}

type Check = (token: string, options: JWTVerifyOptions) => Promise<JWTPayload>;

function verifierOf(source: KeySource): Check {
  if ("jwks" in source) {
    const jwks = createLocalJWKSet(source.jwks);
    return async (token, options) => (await jwtVerify(token, jwks, options)).payload;
  }
  const { key } = source;
  return async (token, options) => (await jwtVerify(token, key, options)).payload;
}

/**
 * Checks the `[auth.jwt]` table (reading `jwks_file` now) and returns a verifier. Throws
 * JwtConfigError, naming the key, for a configuration that would accept forged tokens or none.
 */
export function createJwtVerifier(
  cfg: JwtConfig,
  opts: { readFile?: (path: string) => string } = {},
): JwtVerifier {
  const source = keySource(cfg, opts.readFile ?? ((path) => readFileSync(path, "utf8")));
  const algorithms = chooseAlgorithms(cfg, source.allowed);
  const roleMap = parseRoleMap(cfg.role_map);
  const tenantClaim = cfg.tenant_claim;
  const roleClaim = cfg.role_claim;
  const check = verifierOf(source);
  const base: JWTVerifyOptions = {
    algorithms,
    clockTolerance: cfg.leeway / 1000,
    // A token without exp would never stop working.
    requiredClaims: ["exp"],
    ...(cfg.issuer !== undefined ? { issuer: cfg.issuer } : {}),
    ...(cfg.audience !== undefined ? { audience: cfg.audience } : {}),
  };

  return {
    algorithms,
    async verify(token, now) {
      const options = { ...base, currentDate: new Date(now) };
      let payload: JWTPayload;
      try {
        payload = await check(token, options);
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        return { ok: false, reason: typeof code === "string" ? code : err instanceof Error ? err.message : "invalid token" };
      }
      const tenant = payload[tenantClaim];
      if (typeof tenant !== "string" || !TENANT_RE.test(tenant)) {
        return { ok: false, reason: `claim ${tenantClaim} is missing or not a tenant id` };
      }
      const role = roleFrom(payload[roleClaim], roleMap);
      if (role === undefined) return { ok: false, reason: `claim ${roleClaim} is missing or names no known role` };
      // exp is required above, and jose has checked that it is a number; kept within what a
      // Date (and so an expires_at) can show, whole milliseconds.
      const expiresAt = Math.floor(Math.min((payload.exp as number) * 1000, LATEST_DATE_MS));
      const id = `jwt:${tenant}:${subjectOf(payload, token)}`;
      return { ok: true, principal: { kind: "jwt", id, tenant, role, expiresAt } };
    },
  };
}

const built = new WeakMap<JwtConfig, JwtVerifier>();

/** One verifier per (frozen) config object: built on first use, i.e. when the app is built. */
export function jwtVerifierFor(cfg: JwtConfig): JwtVerifier {
  let verifier = built.get(cfg);
  if (!verifier) {
    verifier = createJwtVerifier(cfg);
    built.set(cfg, verifier);
  }
  return verifier;
}
