// Portal links (API.md §12): POST /v1/portal-links makes an expiring link whose token manages one
// tenant's webhooks and reads their deliveries, event types and stats — never keys, publishing,
// portal links or another tenant; GET /v1/keys lists it as kind "portal", DELETE /v1/keys/{id}
// revokes it, and it stops at its expiry.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { hashApiKey } from "../../src/domain/keys.ts";
import { mayReach } from "../../src/domain/portal-scope.ts";
import { linkBase } from "../../src/api/routes/portal-links.ts";
import { expectError, expectInvalid } from "../support/expect-error.ts";
import {
  type CreatedWebhook,
  createEventTypes,
  createWebhook,
  fakeClockAfterIssuedIds,
  json,
  publishForDelivery,
} from "../support/fixtures.ts";
import { type Harness, harness } from "../support/harness.ts";

interface Link {
  id: string;
  url: string;
  expires_at: string;
}

const HOUR = 3_600_000;
const clock = fakeClockAfterIssuedIds();
let h: Harness;
let acmeAdmin: string;
let acmeHook: CreatedWebhook;
let globexHook: CreatedWebhook;
let acme: { eventId: string; deliveryId: string };
let globex: { eventId: string; deliveryId: string };

beforeAll(async () => {
  h = await harness({}, { clock });
  await createEventTypes(h, ["member.added"]);
  acmeHook = await createWebhook(h, { tenant_id: "acme", url: "https://hooks.example.com/acme", events: ["member.added"] });
  globexHook = await createWebhook(h, { tenant_id: "globex", url: "https://hooks.example.com/globex", events: ["member.added"] });
  acme = await publishForDelivery(h, { tenant_id: "acme", type: "member.added", data: { n: 1 } });
  globex = await publishForDelivery(h, { tenant_id: "globex", type: "member.added", data: { n: 2 } });
  acmeAdmin = await h.key("acme", "admin");
});

afterAll(() => h?.close());

async function link(body: Record<string, unknown>, key?: string, headers: Record<string, string> = {}): Promise<Link> {
  const res = await h.call("POST", "/v1/portal-links", { body, headers, ...(key === undefined ? {} : { key }) });
  expect(res.status, await res.clone().text()).toBe(201);
  return json<Link>(res);
}

const tokenOf = (l: Link) => new URL(l.url).hash.replace(/^#token=/, "");

describe("POST /v1/portal-links", () => {
  test("a tenant admin's link: <public url>/portal#token=…, an hkp_ token, admin for 1h by default", async () => {
    const l = await link({}, acmeAdmin);
    expect(l.url).toMatch(new RegExp(`^${h.url}/portal#token=hkp_[A-Za-z0-9_-]{43}$`));
    expect(Date.parse(l.expires_at)).toBe(clock.now() + HOUR);
    const res = await h.call("POST", "/v1/webhooks", { key: tokenOf(l), body: { url: "https://hooks.example.com/by-portal", events: ["member.added"] } });
    expect(res.status).toBe(201);
    expect((await json<{ tenant_id: string }>(res)).tenant_id).toBe("acme");
  });

  test("a global admin names the tenant; ttl and role are taken", async () => {
    const l = await link({ tenant_id: "globex", ttl: "2d", role: "viewer" });
    expect(Date.parse(l.expires_at)).toBe(clock.now() + 48 * HOUR);
    const token = tokenOf(l);
    const listed = await json<{ data: { id: string }[] }>(await h.call("GET", "/v1/webhooks", { key: token }));
    expect(listed.data.map((w) => w.id)).toEqual([globexHook.id]);
    await expectError(
      await h.call("POST", "/v1/webhooks", { key: token, body: { url: "https://hooks.example.com/v", events: ["member.added"] } }),
      403,
      "forbidden",
    );
  });

  test("refusals: weaker roles and other tenants 403; a bad tenant_id, ttl or role 422 naming it", async () => {
    for (const role of ["viewer", "publisher"] as const) {
      await expectError(await h.call("POST", "/v1/portal-links", { key: await h.key("acme", role), body: {} }), 403, "forbidden");
    }
    await expectError(await h.call("POST", "/v1/portal-links", { key: acmeAdmin, body: { tenant_id: "globex" } }), 403, "forbidden");
    await expectInvalid(await h.call("POST", "/v1/portal-links", { body: {} }), "tenant_id");
    await expectInvalid(await h.call("POST", "/v1/portal-links", { body: { tenant_id: "*" } }), "tenant_id");
    for (const ttl of ["8d", "30s", "forever", 3600]) {
      await expectInvalid(await h.call("POST", "/v1/portal-links", { key: acmeAdmin, body: { ttl } }), "ttl");
    }
    await expectInvalid(await h.call("POST", "/v1/portal-links", { key: acmeAdmin, body: { role: "publisher" } }), "role");
    await expectInvalid(await h.call("POST", "/v1/portal-links", { key: acmeAdmin, body: { ttl: "9d", role: "root" } }), "ttl", "role");
  });

  test("GET /v1/keys lists it as kind portal (keys as kind key); DELETE /v1/keys/{id} revokes it: 401 from then on", async () => {
    const l = await link({}, acmeAdmin);
    const token = tokenOf(l);
    expect((await h.call("GET", "/v1/portal/branding", { key: token })).status).toBe(200);
    const keys = await json<{ data: { id: string; kind: string; prefix: string }[] }>(await h.call("GET", "/v1/keys", { key: acmeAdmin }));
    expect(keys.data.find((k) => k.id === l.id)).toMatchObject({ kind: "portal", prefix: token.slice(0, 10) });
    expect(keys.data.filter((k) => k.kind === "key").length).toBeGreaterThan(0);
    expect(JSON.stringify(keys)).not.toContain(token);
    expect((await h.call("DELETE", `/v1/keys/${l.id}`, { key: acmeAdmin })).status).toBe(204);
    await expectError(await h.call("GET", "/v1/portal/branding", { key: token }), 401, "unauthorized");
  });

  test("it works until its expiry, and is refused (401) from then on", async () => {
    const l = await link({ ttl: "10m" }, acmeAdmin);
    const token = tokenOf(l);
    clock.advance(10 * 60_000 - 1);
    expect((await h.call("GET", "/v1/webhooks", { key: token })).status).toBe(200);
    clock.advance(1);
    await expectError(await h.call("GET", "/v1/webhooks", { key: token }), 401, "unauthorized");
  });

  test("a token authenticates only as the kind its row says: an hkp_ token stored as a key is refused", async () => {
    const token = `hkp_${"x".repeat(43)}`;
    await h.deps.store.insertKey({
      id: `key_${"1".repeat(26)}`,
      tenantId: "acme",
      role: "admin",
      name: "forged",
      prefix: token.slice(0, 10),
      hash: hashApiKey(token),
      createdAt: clock.now(),
      revokedAt: null,
      expiresAt: null,
      kind: "key",
    });
    await expectError(await h.call("GET", "/v1/webhooks", { key: token }), 401, "unauthorized");
  });
});

describe("what a portal token may call", () => {
  let token: string;
  beforeAll(async () => {
    token = tokenOf(await link({}, acmeAdmin));
  });
  const as = (method: string, path: string, body?: unknown) => h.call(method, path, { key: token, ...(body === undefined ? {} : { body }) });

  test("its tenant's webhooks, their deliveries and attempts, events through them, the catalog, the stats, the branding", async () => {
    const expectOk = async (res: Response, status: number) => expect(res.status, `${res.url}: ${await res.clone().text()}`).toBe(status);
    await expectOk(await as("GET", "/v1/webhooks"), 200);
    await expectOk(await as("GET", `/v1/webhooks/${acmeHook.id}`), 200);
    await expectOk(await as("PATCH", `/v1/webhooks/${acmeHook.id}`, { description: "changed in the portal" }), 200);
    await expectOk(await as("GET", `/v1/webhooks/${acmeHook.id}/deliveries`), 200);
    await expectOk(await as("GET", `/v1/webhooks/${acmeHook.id}/stats`), 200);
    await expectOk(await as("POST", `/v1/webhooks/${acmeHook.id}/test`), 202);
    await expectOk(await as("POST", `/v1/webhooks/${acmeHook.id}/rotate-secret`, {}), 200);
    await expectOk(await as("POST", `/v1/webhooks/${acmeHook.id}/recover`, { since: new Date(clock.now() - HOUR).toISOString() }), 202);
    await expectOk(await as("GET", `/v1/deliveries/${acme.deliveryId}`), 200);
    await expectOk(await as("POST", `/v1/deliveries/${acme.deliveryId}/retry`), 202);
    await expectOk(await as("GET", `/v1/events/${acme.eventId}`), 200);
    await expectOk(await as("GET", "/v1/event-types"), 200);
    await expectOk(await as("GET", `/v1/stats/deliveries?webhook_id=${acmeHook.id}`), 200);
    expect(await json(await as("GET", "/v1/portal/branding"))).toEqual({ portal_title: "Webhooks", accent_color: "#4f46e5" });
    const made = await as("POST", "/v1/webhooks", { url: "https://hooks.example.com/portal-made", events: ["member.added"] });
    await expectOk(made, 201);
    await expectOk(await as("DELETE", `/v1/webhooks/${(await json<{ id: string }>(made)).id}`), 204);
  });

  test.each([
    ["POST", "/v1/events", { type: "member.added", data: {} }],
    ["GET", "/v1/events", undefined],
    ["GET", "/v1/keys", undefined],
    ["POST", "/v1/keys", { role: "viewer" }],
    ["DELETE", `/v1/keys/key_${"0".repeat(26)}`, undefined],
    ["POST", "/v1/portal-links", {}],
    ["POST", "/v1/event-types", { name: "portal.made", description: "" }],
  ])("%s %s → 403, whatever the token's role", async (method, path, body) => {
    await expectError(await as(method, path, body), 403, "forbidden");
  });

  test("another tenant's resources are not found (404); naming another tenant in a body is 403", async () => {
    await expectError(await as("GET", `/v1/webhooks/${globexHook.id}`), 404, "not_found");
    await expectError(await as("PATCH", `/v1/webhooks/${globexHook.id}`, { description: "x" }), 404, "not_found");
    await expectError(await as("GET", `/v1/deliveries/${globex.deliveryId}`), 404, "not_found");
    await expectError(await as("POST", `/v1/deliveries/${globex.deliveryId}/retry`), 404, "not_found");
    await expectError(await as("GET", `/v1/events/${globex.eventId}`), 404, "not_found");
    await expectError(await as("GET", `/v1/stats/deliveries?webhook_id=${globexHook.id}`), 404, "not_found");
    await expectError(
      await as("POST", "/v1/webhooks", { tenant_id: "globex", url: "https://hooks.example.com/g2", events: ["member.added"] }),
      403,
      "forbidden",
    );
    const listed = await json<{ data: { tenant_id: string }[] }>(await as("GET", "/v1/webhooks?tenant=globex"));
    expect(listed.data.every((w) => w.tenant_id === "acme")).toBe(true);
  });
});

describe("the scope rule, route by route", () => {
  // Every /v1 route the app serves, and whether a portal token reaches it: a new route is out of
  // the portal's reach until it is listed in src/domain/portal-scope.ts and here.
  const PORTAL = new Set([
    "GET /v1/webhooks",
    "POST /v1/webhooks",
    "GET /v1/webhooks/:id",
    "PATCH /v1/webhooks/:id",
    "DELETE /v1/webhooks/:id",
    "GET /v1/webhooks/:id/deliveries",
    "GET /v1/webhooks/:id/stats",
    "POST /v1/webhooks/:id/test",
    "POST /v1/webhooks/:id/rotate-secret",
    "POST /v1/webhooks/:id/recover",
    "POST /v1/webhooks/:id/replay",
    "GET /v1/webhooks/:id/replays/:replay_id",
    "GET /v1/deliveries/:id",
    "POST /v1/deliveries/:id/retry",
    "GET /v1/events/:id",
    "GET /v1/event-types",
    "GET /v1/stats/deliveries",
    "GET /v1/portal/branding",
    "GET /v1/whoami",
  ]);

  test("portal tokens reach exactly the portal's routes; every other kind of credential reaches all", () => {
    const routes = h.app.routes.filter((r) => r.path.startsWith("/v1/")).map((r) => `${r.method} ${r.path}`);
    expect(routes.length).toBeGreaterThan(PORTAL.size);
    for (const route of routes) {
      const [method, path] = route.split(" ") as [string, string];
      expect(mayReach({ kind: "portal" }, method, path), route).toBe(PORTAL.has(route));
      for (const kind of ["root", "key", "jwt"] as const) expect(mayReach({ kind }, method, path), `${kind} ${route}`).toBe(true);
    }
    for (const listed of PORTAL) expect(routes, listed).toContain(listed);
  });
});

describe("the link's base", () => {
  const req = (headers: Record<string, string>) => new Request("http://10.0.0.5:8080/v1/portal-links", { headers });

  test.each([
    ["server.public_url wins, without its trailing slash", "https://hooks.example.com/base/", { host: "x.test" }, "https://hooks.example.com/base"],
    ["else Host", undefined, { host: "hooks.internal:8080" }, "http://hooks.internal:8080"],
    ["a proxy's X-Forwarded-Proto and -Host (first values)", undefined, { host: "backend:8080", "x-forwarded-proto": "https, http", "x-forwarded-host": "hooks.example.com, proxy" }, "https://hooks.example.com"],
    ["a forwarded host that is not a host is ignored", undefined, { host: "hooks.example.com", "x-forwarded-host": "evil.test/x?y#z" }, "http://hooks.example.com"],
    ["a forwarded proto other than http(s) is ignored", undefined, { host: "hooks.example.com", "x-forwarded-proto": "javascript" }, "http://hooks.example.com"],
    ["an IPv6 host with a port", undefined, { host: "[::1]:8080" }, "http://[::1]:8080"],
  ])("%s", (_, publicUrl, headers, want) => {
    expect(linkBase(publicUrl, req(headers))).toBe(want);
  });
});
