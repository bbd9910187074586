// API.md §10 "JWT", hardening: an HS256 secret under 32 bytes is refused at start, and a key
// created with a JWT expires no later than that token. Over real HTTP with jose-signed tokens;
// time comes from the harness clock.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SignJWT } from "jose";
import { createJwtVerifier, JwtConfigError } from "../../src/api/jwt.ts";
import { JWT_DEFAULTS } from "../../src/config/defaults.ts";
import type { JwtConfig } from "../../src/config/types.ts";
import type { KeyView } from "../../src/domain/keys.ts";
import { configProblems } from "../support/config-problems.ts";
import { expectInvalid } from "../support/expect-error.ts";
import { type FakeClock, fakeClockAfterIssuedIds, freshHarnessPerTest, json } from "../support/fixtures.ts";
import type { Harness } from "../support/harness.ts";
import { run } from "../support/process.ts";

const fresh = freshHarnessPerTest();
const SECRET = "a-shared-secret-of-at-least-32-bytes!";
const HOUR = 3_600_000;
type CreatedKey = KeyView & { key: string };

async function withJwt(): Promise<{ h: Harness; clock: FakeClock }> {
  const clock = fakeClockAfterIssuedIds();
  const h = await fresh({ auth: { jwt: { ...JWT_DEFAULTS, secret: SECRET } }, rate_limit: { per_minute: 0 } }, { clock });
  return { h, clock };
}

/** An admin token of tenant acme that expires `ttlMs` after the clock's now. */
async function adminToken(clock: FakeClock, ttlMs = HOUR): Promise<{ token: string; exp: number }> {
  const now = Math.floor(clock.now() / 1000);
  const exp = now + ttlMs / 1000;
  const token = await new SignJWT({ org_id: "acme", role: "admin", sub: "user-1", iat: now, exp })
    .setProtectedHeader({ alg: "HS256" })
    .sign(new TextEncoder().encode(SECRET));
  return { token, exp: exp * 1000 };
}

async function createKey(h: Harness, key: string, body: Record<string, unknown>): Promise<Response> {
  return h.call("POST", "/v1/keys", { key, body: { role: "publisher", name: "backend", ...body } });
}

describe("keys created with a JWT expire no later than the token", () => {
  test("without expires_at the key gets the token's exp: it works until then, 401 after", async () => {
    const { h, clock } = await withJwt();
    const { token, exp } = await adminToken(clock);
    const res = await createKey(h, token, {});
    expect(res.status).toBe(201);
    const created = await json<CreatedKey>(res);
    expect(created.tenant_id).toBe("acme");
    expect(created.expires_at).toBe(new Date(exp).toISOString());
    expect((await h.call("GET", "/v1/webhooks", { key: created.key })).status).toBe(200);
    clock.set(exp - 1);
    expect((await h.call("GET", "/v1/webhooks", { key: created.key })).status).toBe(200);
    clock.set(exp);
    expect((await h.call("GET", "/v1/webhooks", { key: created.key })).status).toBe(401);
    // Still listed with its date (by a non-JWT admin), like any expired key.
    const list = await json<{ data: KeyView[] }>(await h.call("GET", "/v1/keys"));
    expect(list.data.find((k) => k.id === created.id)?.expires_at).toBe(created.expires_at);
  });

  test("an expires_at before the token's exp is kept; one after it is 422 naming expires_at", async () => {
    const { h, clock } = await withJwt();
    const { token, exp } = await adminToken(clock);
    const sooner = new Date(exp - 600_000).toISOString();
    const ok = await createKey(h, token, { expires_at: sooner });
    expect(ok.status).toBe(201);
    expect((await json<CreatedKey>(ok)).expires_at).toBe(sooner);
    const atExp = await createKey(h, token, { expires_at: new Date(exp).toISOString() });
    expect(atExp.status).toBe(201);

    const later = await createKey(h, token, { expires_at: new Date(exp + 1_000).toISOString() });
    expect(await expectInvalid(later)).toEqual([
      `expires_at: must not be later than ${new Date(exp).toISOString()}, when the token creating this key expires`,
    ]);
    // Nothing but the accepted ones was stored.
    const list = await json<{ data: KeyView[] }>(await h.call("GET", "/v1/keys"));
    expect(list.data).toHaveLength(2);
  });

  test("a token inside the leeway after its exp cannot mint a key that is born expired", async () => {
    const { h, clock } = await withJwt();
    const { token, exp } = await adminToken(clock, 60_000);
    clock.set(exp + 10_000); // within the default 30 s leeway: the token still authenticates
    expect((await h.call("GET", "/v1/webhooks", { key: token })).status).toBe(200);
    const res = await createKey(h, token, {});
    expect((await expectInvalid(res))[0]).toStartWith("expires_at: ");
  });

  test("a token with an absurd exp gives a key that expires at the latest RFC 3339 time, not a 500", async () => {
    const { h, clock } = await withJwt();
    const now = Math.floor(clock.now() / 1000);
    for (const exp of [1e20, 253402300800.5]) {
      const token = await new SignJWT({ org_id: "acme", role: "admin", sub: "u", iat: now, exp })
        .setProtectedHeader({ alg: "HS256" })
        .sign(new TextEncoder().encode(SECRET));
      const res = await createKey(h, token, {});
      expect(res.status).toBe(201);
      expect((await json<CreatedKey>(res)).expires_at).toBe("9999-12-31T23:59:59.000Z");
    }
  });

  test("API keys and the root key still create keys that never expire", async () => {
    const { h } = await withJwt();
    const root = await createKey(h, "test-root-key-0123456789abcdef", { tenant_id: "acme" });
    expect((await json<CreatedKey>(root)).expires_at).toBeNull();
    const admin = await h.key("acme", "admin");
    const byKey = await createKey(h, admin, {});
    expect(byKey.status).toBe(201);
    expect((await json<CreatedKey>(byKey)).expires_at).toBeNull();
  });
});

describe("auth.jwt.secret must be at least 32 bytes", () => {
  const dir = mkdtempSync(join(tmpdir(), "hookline-jwt-secret-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test.each([
    ["short", "0123456789"],
    ["31 bytes", "a".repeat(31)],
    ["15 two-byte characters (30 bytes of UTF-8)", "é".repeat(15)],
  ])("%s → a config error naming auth.jwt.secret and its line, never the secret", (_label, secret) => {
    const problems = configProblems(`[auth.jwt]\nsecret = "${secret}"\n`);
    expect(problems).toEqual([
      "auth.jwt.secret: must be at least 32 bytes; generate one with: openssl rand -base64 32 (line 2)",
    ]);
    expect(problems.join("\n")).not.toContain(secret);
  });

  test("from the environment the problem names the variable; 32 bytes (or 16 two-byte characters) pass", () => {
    expect(configProblems("", { HOOKLINE_AUTH_JWT_SECRET: "tooshort" })).toEqual([
      "auth.jwt.secret (from environment variable HOOKLINE_AUTH_JWT_SECRET): must be at least 32 bytes; generate one with: openssl rand -base64 32",
    ]);
    expect(configProblems("", { HOOKLINE_AUTH_JWT_SECRET: "a".repeat(32) })).toEqual([]);
    expect(configProblems("", { HOOKLINE_AUTH_JWT_SECRET: "é".repeat(16) })).toEqual([]);
  });

  test("the verifier refuses a short secret too, and HS384/HS512 need 48/64 bytes", () => {
    const refused = (cfg: Partial<JwtConfig>): string => {
      try {
        createJwtVerifier({ ...JWT_DEFAULTS, ...cfg });
      } catch (err) {
        expect(err).toBeInstanceOf(JwtConfigError);
        return (err as Error).message;
      }
      throw new Error("expected the configuration to be refused");
    };
    expect(refused({ secret: "short" })).toStartWith("auth.jwt.secret: must be at least 32 bytes");
    expect(refused({ secret: "a".repeat(40), algorithms: ["HS512"] })).toBe(
      "auth.jwt.algorithms: HS512 needs an auth.jwt.secret of at least 64 bytes",
    );
    expect(refused({ secret: "a".repeat(40), algorithms: ["HS256", "HS384"] })).toContain("HS384 needs");
    expect(createJwtVerifier({ ...JWT_DEFAULTS, secret: "a".repeat(64), algorithms: ["HS512"] }).algorithms).toEqual(["HS512"]);
  });

  test("config check and serve exit 2 naming auth.jwt.secret before any database exists", async () => {
    const cwd = mkdtempSync(join(dir, "cli-"));
    await Bun.write(join(cwd, "hookline.toml"), '[auth.jwt]\nsecret = "changeme"\n');
    const main = join(import.meta.dir, "..", "..", "src", "main.ts");
    for (const args of [["config", "check"], ["serve"], ["keys", "list"]]) {
      const res = await run([process.execPath, main, ...args], { cwd });
      expect(res.code, args.join(" ")).toBe(2);
      expect(res.stderr).toContain("auth.jwt.secret: must be at least 32 bytes");
      expect(res.stderr).not.toContain("changeme");
    }
    expect(existsSync(join(cwd, "data"))).toBe(false);
  }, 20_000);
});
