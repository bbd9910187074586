// GET /v1/whoami: the caller's credential as the API sees it — root, an API key (with the expiry
// its row has), a portal link's token (which reaches this route too) — so a UI need not probe.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createKey } from "../../src/domain/keys.ts";
import { expectError } from "../support/expect-error.ts";
import { fakeClockAfterIssuedIds, json } from "../support/fixtures.ts";
import { type Harness, harness } from "../support/harness.ts";

interface Whoami {
  kind: string;
  id: string;
  tenant_id: string;
  role: string;
  expires_at: string | null;
}

const clock = fakeClockAfterIssuedIds();
let h: Harness;
beforeAll(async () => {
  h = await harness({}, { clock });
});
afterAll(() => h?.close());

const whoami = async (key: string) => {
  const res = await h.call("GET", "/v1/whoami", { key });
  expect(res.status, await res.clone().text()).toBe(200);
  return json<Whoami>(res);
};

describe("GET /v1/whoami", () => {
  test("the root key: a global admin that does not expire", async () => {
    expect(await whoami((await import("../support/harness.ts")).ROOT_KEY)).toEqual({ kind: "root", id: "root", tenant_id: "*", role: "admin", expires_at: null });
  });

  test("an API key: its id, tenant, role, and the expiry of its row", async () => {
    const lasting = await createKey(h.deps, "operator", { tenant_id: "acme", role: "viewer", name: "v" });
    expect(await whoami(lasting.key)).toEqual({ kind: "key", id: lasting.id, tenant_id: "acme", role: "viewer", expires_at: null });
    const until = new Date(clock.now() + 86_400_000).toISOString();
    const expiring = await createKey(h.deps, "operator", { tenant_id: "*", role: "publisher", name: "p", expires_at: until });
    expect(await whoami(expiring.key)).toEqual({ kind: "key", id: expiring.id, tenant_id: "*", role: "publisher", expires_at: until });
  });

  test("a portal link's token reaches it, with its role and expiry; once expired it is a 401", async () => {
    const admin = await h.key("acme", "admin");
    const res = await h.call("POST", "/v1/portal-links", { key: admin, body: { ttl: "10m", role: "viewer" } });
    const link = await json<{ id: string; url: string; expires_at: string }>(res);
    const token = new URL(link.url).hash.replace(/^#token=/, "");
    expect(await whoami(token)).toEqual({ kind: "portal", id: link.id, tenant_id: "acme", role: "viewer", expires_at: link.expires_at });
    clock.advance(10 * 60_000);
    await expectError(await h.call("GET", "/v1/whoami", { key: token }), 401, "unauthorized");
  });

  test("no credential: 401", async () => {
    await expectError(await h.call("GET", "/v1/whoami", { key: null }), 401, "unauthorized");
  });
});
