// API.md §1 and §10 "JWT": bearer tokens verified against [auth.jwt], over real HTTP. Tokens are
// signed here with jose; time comes from the harness clock, never from sleeping.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type CryptoKey, exportJWK, exportPKCS8, exportSPKI, generateKeyPair, type JWTPayload, SignJWT, UnsecuredJWT } from "jose";
import { createApp } from "../../src/api/app.ts";
import { createJwtVerifier, JwtConfigError } from "../../src/api/jwt.ts";
import { JWT_DEFAULTS } from "../../src/config/defaults.ts";
import type { JwtConfig } from "../../src/config/types.ts";
import { expectError } from "../support/expect-error.ts";
import { type FakeClock, fakeClockAfterIssuedIds, freshHarnessPerTest, json, type Page, type WebhookView } from "../support/fixtures.ts";
import type { Harness } from "../support/harness.ts";

const fresh = freshHarnessPerTest();
const SECRET = "a-shared-secret-of-at-least-32-bytes!";
const HOOK = { url: "https://example.com/h", events: ["*"] };

function jwtConfig(extra: Partial<JwtConfig>): JwtConfig {
  return { ...JWT_DEFAULTS, ...extra };
}

async function withJwt(extra: Partial<JwtConfig>, more: { per_minute?: number } = {}): Promise<{ h: Harness; clock: FakeClock }> {
  const clock = fakeClockAfterIssuedIds();
  const h = await fresh(
    { auth: { jwt: jwtConfig(extra) }, rate_limit: { per_minute: more.per_minute ?? 0 } },
    { clock },
  );
  return { h, clock };
}

const seconds = (ms: number) => Math.floor(ms / 1000);

/** A token valid for an hour from the clock's now; `claims` override or add (undefined removes). */
async function sign(
  key: Uint8Array | CryptoKey,
  clock: FakeClock,
  claims: Record<string, unknown> = {},
  header: { alg: string; kid?: string } = { alg: "HS256" },
): Promise<string> {
  const now = seconds(clock.now());
  const payload: JWTPayload = { org_id: "acme", role: "viewer", sub: "user-1", iat: now, exp: now + 3600, ...claims };
  for (const [k, v] of Object.entries(payload)) if (v === undefined) delete payload[k];
  return new SignJWT(payload).setProtectedHeader(header).sign(key);
}

const secretKey = new TextEncoder().encode(SECRET);
const hs = (clock: FakeClock, claims: Record<string, unknown> = {}) => sign(secretKey, clock, claims);

async function status(h: Harness, token: string, method = "GET", path = "/v1/webhooks", body?: unknown): Promise<number> {
  return (await h.call(method, path, { key: token, ...(body !== undefined ? { body } : {}) })).status;
}

describe("HS256 with a shared secret", () => {
  test("a valid token reads its own tenant only; the 401 body is the usual envelope", async () => {
    const { h, clock } = await withJwt({ secret: SECRET });
    await h.call("POST", "/v1/webhooks", { body: { ...HOOK, tenant_id: "acme" } });
    await h.call("POST", "/v1/webhooks", { body: { ...HOOK, url: "https://example.org/g", tenant_id: "globex" } });
    const res = await h.call("GET", "/v1/webhooks", { key: await hs(clock) });
    expect(res.status).toBe(200);
    const page = await json<Page<WebhookView>>(res);
    expect(page.data.map((w) => w.tenant_id)).toEqual(["acme"]);
    // The same token in X-API-Key works too.
    const viaHeader = await h.call("GET", "/v1/webhooks", { key: null, headers: { "x-api-key": await hs(clock) } });
    expect(viaHeader.status).toBe(200);

    const bad = await h.call("GET", "/v1/webhooks", { key: `${await hs(clock)}x` });
    await expectError(bad, 401, "unauthorized");
  });

  test("exp is enforced with the leeway (30s by default) on the harness clock", async () => {
    const { h, clock } = await withJwt({ secret: SECRET });
    const token = await hs(clock, { exp: seconds(clock.now()) + 60 });
    expect(await status(h, token)).toBe(200);
    clock.advance(60_000 + 20_000); // expired 20 s ago: within the leeway
    expect(await status(h, token)).toBe(200);
    clock.advance(15_000); // expired 35 s ago
    expect(await status(h, token)).toBe(401);
  });

  test("a token without exp is refused (it would never stop working)", async () => {
    const { h, clock } = await withJwt({ secret: SECRET });
    expect(await status(h, await hs(clock, { exp: undefined }))).toBe(401);
  });

  test("nbf in the future → 401 until it is reached (minus the leeway)", async () => {
    const { h, clock } = await withJwt({ secret: SECRET, leeway: 5_000 });
    const token = await hs(clock, { nbf: seconds(clock.now()) + 120 });
    expect(await status(h, token)).toBe(401);
    clock.advance(116_000); // 4 s before nbf, inside the 5 s leeway
    expect(await status(h, token)).toBe(200);
  });

  test("issuer and audience must match when configured", async () => {
    const { h, clock } = await withJwt({ secret: SECRET, issuer: "https://idp.example/", audience: "hookline" });
    const good = { iss: "https://idp.example/", aud: "hookline" };
    expect(await status(h, await hs(clock, good))).toBe(200);
    expect(await status(h, await hs(clock, { ...good, aud: ["other", "hookline"] }))).toBe(200);
    expect(await status(h, await hs(clock, { ...good, aud: "other" }))).toBe(401);
    expect(await status(h, await hs(clock, { ...good, aud: undefined }))).toBe(401);
    expect(await status(h, await hs(clock, { ...good, iss: "https://evil.example/" }))).toBe(401);
    expect(await status(h, await hs(clock, { ...good, iss: undefined }))).toBe(401);
  });

  test("missing or bad tenant claim, missing or unknown role → 401; a token is never global", async () => {
    const { h, clock } = await withJwt({ secret: SECRET });
    expect(await status(h, await hs(clock, { org_id: undefined }))).toBe(401);
    expect(await status(h, await hs(clock, { org_id: "*" }))).toBe(401);
    expect(await status(h, await hs(clock, { org_id: "Not A Tenant" }))).toBe(401);
    expect(await status(h, await hs(clock, { org_id: 42 }))).toBe(401);
    expect(await status(h, await hs(clock, { role: undefined }))).toBe(401);
    expect(await status(h, await hs(clock, { role: "owner" }))).toBe(401);
    expect(await status(h, await hs(clock, { role: ["owner"] }))).toBe(401);
    // An array of roles counts its strongest known one.
    expect(await status(h, await hs(clock, { role: ["viewer", "admin", "owner"] }), "POST", "/v1/webhooks", HOOK)).toBe(201);
  });

  test("custom claim names", async () => {
    const { h, clock } = await withJwt({ secret: SECRET, tenant_claim: "https://hookline/org", role_claim: "hl_role" });
    expect(await status(h, await hs(clock, { "https://hookline/org": "acme", hl_role: "viewer" }))).toBe(200);
    expect(await status(h, await hs(clock))).toBe(401); // org_id and role are not read any more
  });

  test("role too weak → 403; another tenant's webhook → 404; own tenant's → 200", async () => {
    const { h, clock } = await withJwt({ secret: SECRET });
    const viewer = await hs(clock);
    expect(await status(h, viewer, "POST", "/v1/webhooks", HOOK)).toBe(403);
    const admin = await hs(clock, { role: "admin" });
    const created = await h.call("POST", "/v1/webhooks", { key: admin, body: HOOK });
    expect(created.status).toBe(201);
    const mine = await json<WebhookView>(created);
    expect(mine.tenant_id).toBe("acme");
    const other = await json<WebhookView>(
      await h.call("POST", "/v1/webhooks", { body: { ...HOOK, url: "https://example.org/x", tenant_id: "globex" } }),
    );
    expect(await status(h, viewer, "GET", `/v1/webhooks/${other.id}`)).toBe(404);
    expect(await status(h, viewer, "GET", `/v1/webhooks/${mine.id}`)).toBe(200);
    // A tenant admin token cannot act for all tenants.
    expect(await status(h, admin, "POST", "/v1/event-types", { name: "member.added" })).toBe(403);
  });

  test("role_map maps the identity provider's roles; unmapped values are refused", async () => {
    const { h, clock } = await withJwt({
      secret: SECRET,
      role_map: ["org:owner=admin", "org:member=viewer"],
    });
    expect(await status(h, await hs(clock, { role: "org:owner" }), "POST", "/v1/webhooks", HOOK)).toBe(201);
    expect(await status(h, await hs(clock, { role: "org:member" }), "POST", "/v1/webhooks", HOOK)).toBe(403);
    expect(await status(h, await hs(clock, { role: "org:member" }))).toBe(200);
    // With a role_map only mapped values count, even Hookline's own role names.
    expect(await status(h, await hs(clock, { role: "admin" }))).toBe(401);
  });

  test("alg none and a wrong signature → 401", async () => {
    const { h, clock } = await withJwt({ secret: SECRET });
    const now = seconds(clock.now());
    const unsigned = new UnsecuredJWT({ org_id: "acme", role: "admin", sub: "x", exp: now + 60 }).encode();
    expect(await status(h, unsigned)).toBe(401);
    const other = await sign(new TextEncoder().encode("another-secret-of-32-bytes-or-more!!"), clock);
    expect(await status(h, other)).toBe(401);
  });

  test("a JWT-shaped credential is refused when [auth.jwt] is not configured", async () => {
    const clock = fakeClockAfterIssuedIds();
    const h = await fresh({}, { clock });
    expect(await status(h, await hs(clock))).toBe(401);
  });

  test("rate limits count per principal (tenant + sub), across tokens", async () => {
    const { h, clock } = await withJwt({ secret: SECRET }, { per_minute: 3 });
    for (let i = 0; i < 3; i++) expect(await status(h, await hs(clock, { jti: `t${i}` }))).toBe(200);
    // A fresh token for the same subject draws from the same bucket.
    const limited = await h.call("GET", "/v1/webhooks", { key: await hs(clock, { jti: "t3" }) });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    // Another subject, or the same subject in another tenant, has its own.
    expect(await status(h, await hs(clock, { sub: "user-2" }))).toBe(200);
    expect(await status(h, await hs(clock, { org_id: "globex" }))).toBe(200);
  });
});

describe("public keys", () => {
  test("ES256 with a PEM public key; an HS256 token signed with that PEM as secret → 401", async () => {
    const { publicKey, privateKey } = await generateKeyPair("ES256", { extractable: true });
    const pem = await exportSPKI(publicKey);
    const { h, clock } = await withJwt({ public_key: pem });
    expect(await status(h, await sign(privateKey, clock, {}, { alg: "ES256" }))).toBe(200);
    // The classic algorithm confusion: HMAC keyed by the public key text.
    const confused = await sign(new TextEncoder().encode(pem), clock, { role: "admin" });
    expect(await status(h, confused)).toBe(401);
    // Another key pair's signature does not verify.
    const stranger = await generateKeyPair("ES256");
    expect(await status(h, await sign(stranger.privateKey, clock, {}, { alg: "ES256" }))).toBe(401);
  });

  test("RS256 and PS256 with one RSA public key; algorithms narrows them", async () => {
    const { publicKey, privateKey } = await generateKeyPair("RS256", { extractable: true });
    const pem = await exportSPKI(publicKey);
    const { h, clock } = await withJwt({ public_key: pem, algorithms: ["RS256"] });
    expect(await status(h, await sign(privateKey, clock, {}, { alg: "RS256" }))).toBe(200);
    const ps = await generateKeyPair("PS256", { extractable: true });
    expect(createJwtVerifier(jwtConfig({ public_key: await exportSPKI(ps.publicKey) })).algorithms).toEqual([
      "RS256",
      "RS384",
      "RS512",
      "PS256",
      "PS384",
      "PS512",
    ]);
  });

  test("a JWKS file: the key is chosen by kid, read once at start", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hookline-jwks-"));
    try {
      const a = await generateKeyPair("ES256", { extractable: true });
      const b = await generateKeyPair("RS256", { extractable: true });
      const file = join(dir, "jwks.json");
      const keys = [
        { ...(await exportJWK(a.publicKey)), kid: "a", use: "sig" },
        { ...(await exportJWK(b.publicKey)), kid: "b", alg: "RS256" },
      ];
      writeFileSync(file, JSON.stringify({ keys }));
      const { h, clock } = await withJwt({ jwks_file: file });
      expect(await status(h, await sign(a.privateKey, clock, {}, { alg: "ES256", kid: "a" }))).toBe(200);
      expect(await status(h, await sign(b.privateKey, clock, {}, { alg: "RS256", kid: "b" }))).toBe(200);
      expect(await status(h, await sign(b.privateKey, clock, {}, { alg: "RS256", kid: "a" }))).toBe(401);
      const stranger = await generateKeyPair("ES256");
      expect(await status(h, await sign(stranger.privateKey, clock, {}, { alg: "ES256", kid: "a" }))).toBe(401);
      expect(await status(h, await hs(clock))).toBe(401);
      // Read at start: removing the file changes nothing.
      rmSync(file);
      expect(await status(h, await sign(a.privateKey, clock, {}, { alg: "ES256", kid: "a" }))).toBe(200);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("configurations that would accept forged tokens are refused at start", () => {
  const refused = (cfg: Partial<JwtConfig>, readFile?: (p: string) => string) => {
    try {
      createJwtVerifier(jwtConfig(cfg), readFile ? { readFile } : {});
    } catch (err) {
      expect(err).toBeInstanceOf(JwtConfigError);
      return (err as Error).message;
    }
    throw new Error("expected the configuration to be refused");
  };

  test("HS* with a public key or a JWKS file, none, a mismatched algorithm, bad key material", async () => {
    const { publicKey, privateKey } = await generateKeyPair("ES256", { extractable: true });
    const pem = await exportSPKI(publicKey);
    expect(refused({ public_key: pem, algorithms: ["HS256"] })).toContain(
      "auth.jwt.algorithms: HS256 needs a shared secret and is never accepted with public_key",
    );
    expect(refused({ public_key: pem, algorithms: ["none"] })).toContain('"none" is never accepted');
    expect(refused({ public_key: pem, algorithms: ["RS256"] })).toContain("RS256 cannot be verified");
    expect(refused({ secret: SECRET, algorithms: ["ES256"] })).toContain("ES256 cannot be verified with the configured secret");
    expect(refused({ public_key: "not a pem" })).toContain("auth.jwt.public_key: is not a PEM public key");
    expect(refused({ public_key: await exportPKCS8(privateKey) })).toContain("holds a private key");
    const jwk = await exportJWK(publicKey);
    expect(refused({ jwks_file: "j.json", algorithms: ["HS256"] }, () => JSON.stringify({ keys: [jwk] }))).toContain(
      "never accepted with jwks_file",
    );
    expect(refused({ jwks_file: "j.json" }, () => JSON.stringify({ keys: [{ kty: "oct", k: "c2VjcmV0" }] }))).toContain(
      "public keys only",
    );
    expect(refused({ jwks_file: "j.json" }, () => "{")).toContain("auth.jwt.jwks_file: cannot read a JWKS");
    expect(refused({ jwks_file: "j.json" }, () => '{"keys":[]}')).toContain('non-empty "keys"');
    // Defaults: a secret means HS256 only; an EC key its one curve's algorithm.
    expect(createJwtVerifier(jwtConfig({ secret: SECRET })).algorithms).toEqual(["HS256"]);
    expect(createJwtVerifier(jwtConfig({ public_key: pem })).algorithms).toEqual(["ES256"]);
  });

  test("building the app fails with the message, so the server does not start", async () => {
    const h = await fresh();
    const { publicKey } = await generateKeyPair("RS256", { extractable: true });
    const jwt = jwtConfig({ public_key: await exportSPKI(publicKey), algorithms: ["HS256"] });
    const config = { ...h.deps.config, auth: { ...h.deps.config.auth, jwt } };
    expect(() => createApp({ ...h.deps, config })).toThrow("auth.jwt.algorithms: HS256 needs a shared secret");
  });
});
