// API.md §1, §2, §10: credentials, roles, tenant isolation and the order of checks.
import { afterEach, describe, expect, test } from "bun:test";
import { expectError } from "../support/expect-error.ts";
import { type Harness, harness, ROOT_KEY } from "../support/harness.ts";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function fresh(overrides: Parameters<typeof harness>[0] = {}): Promise<Harness> {
  h = await harness({ security: { allow_private_networks: false }, ...overrides });
  return h;
}

const HOOK = { url: "https://example.com/h", events: ["*"] };

describe("401 unauthorized", () => {
  test("no credentials", async () => {
    const h = await fresh();
    await expectError(await h.call("GET", "/v1/webhooks", { key: null }), 401, "unauthorized");
  });

  test("unknown key, with or without our prefix", async () => {
    const h = await fresh();
    await expectError(await h.call("GET", "/v1/webhooks", { key: "hkl_notarealkey000000000000" }), 401, "unauthorized");
    await expectError(await h.call("GET", "/v1/webhooks", { key: "whatever" }), 401, "unauthorized");
    await expectError(
      await h.call("GET", "/v1/webhooks", { key: null, headers: { "x-api-key": "hkl_nope" } }),
      401,
      "unauthorized",
    );
  });

  test("malformed Authorization header", async () => {
    const h = await fresh();
    for (const authorization of [`Basic ${btoa(`u:${ROOT_KEY}`)}`, "Bearer", "Bearer a b", ROOT_KEY]) {
      await expectError(
        await h.call("GET", "/v1/webhooks", { key: null, headers: { authorization } }),
        401,
        "unauthorized",
      );
    }
  });

  test("a revoked key is refused on its next request", async () => {
    const h = await fresh();
    const created = await h.call("POST", "/v1/keys", { body: { tenant_id: "acme", role: "viewer", name: "v" } });
    expect(created.status).toBe(201);
    const { id, key } = (await created.json()) as { id: string; key: string };
    expect((await h.call("GET", "/v1/webhooks", { key })).status).toBe(200);
    expect((await h.call("DELETE", `/v1/keys/${id}`)).status).toBe(204);
    await expectError(await h.call("GET", "/v1/webhooks", { key }), 401, "unauthorized");
    await expectError(
      await h.call("GET", "/v1/webhooks", { key: null, headers: { "x-api-key": key } }),
      401,
      "unauthorized",
    );
  });
});

describe("credentials", () => {
  test("Authorization: Bearer and X-API-Key both work", async () => {
    const h = await fresh();
    const key = await h.key("acme", "viewer");
    expect((await h.call("GET", "/v1/webhooks", { key })).status).toBe(200);
    expect((await h.call("GET", "/v1/webhooks", { key: null, headers: { authorization: `bearer ${key}` } })).status).toBe(200);
    expect((await h.call("GET", "/v1/webhooks", { key: null, headers: { "x-api-key": key } })).status).toBe(200);
    expect((await h.call("GET", "/v1/webhooks", { key: null, headers: { "x-api-key": ROOT_KEY } })).status).toBe(200);
  });

  test("the root key is a global admin", async () => {
    const h = await fresh();
    const et = await h.call("POST", "/v1/event-types", { body: { name: "member.added", description: "d" } });
    expect(et.status).toBe(201);
    const wh = await h.call("POST", "/v1/webhooks", { body: { ...HOOK, tenant_id: "acme" } });
    expect(wh.status).toBe(201);
    expect(((await wh.json()) as { tenant_id: string }).tenant_id).toBe("acme");
    const k = await h.call("POST", "/v1/keys", { body: { tenant_id: "*", role: "admin" } });
    expect(k.status).toBe(201);
  });
});

describe("roles", () => {
  test("viewer reads webhooks but cannot create one", async () => {
    const h = await fresh();
    const key = await h.key("acme", "viewer");
    expect((await h.call("GET", "/v1/webhooks", { key })).status).toBe(200);
    expect((await h.call("GET", "/v1/event-types", { key })).status).toBe(200);
    await expectError(await h.call("POST", "/v1/webhooks", { key, body: HOOK }), 403, "forbidden");
  });

  test("publisher cannot create a webhook", async () => {
    const h = await fresh();
    const key = await h.key("acme", "publisher");
    expect((await h.call("GET", "/v1/webhooks", { key })).status).toBe(200);
    await expectError(await h.call("POST", "/v1/webhooks", { key, body: HOOK }), 403, "forbidden");
  });

  test("tenant admin creates a webhook in its own tenant", async () => {
    const h = await fresh();
    const key = await h.key("acme", "admin");
    const res = await h.call("POST", "/v1/webhooks", { key, body: HOOK });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { tenant_id: string; id: string; secret: string };
    expect(body.tenant_id).toBe("acme");
    expect(body.id.startsWith("wh_")).toBe(true);
    expect(body.secret.startsWith("whsec_")).toBe(true);
  });

  test("tenant admin cannot manage event types (global admin only)", async () => {
    const h = await fresh();
    const key = await h.key("acme", "admin");
    await expectError(
      await h.call("POST", "/v1/event-types", { key, body: { name: "member.added", description: "d" } }),
      403,
      "forbidden",
    );
    // A global viewer is not a global admin either.
    const globalViewer = await h.key("*", "viewer");
    await expectError(
      await h.call("POST", "/v1/event-types", { key: globalViewer, body: { name: "member.added" } }),
      403,
      "forbidden",
    );
  });
});

describe("tenant isolation", () => {
  async function acmeHook(h: Harness): Promise<string> {
    const res = await h.call("POST", "/v1/webhooks", { key: await h.key("acme", "admin"), body: HOOK });
    expect(res.status).toBe(201);
    return ((await res.json()) as { id: string }).id;
  }

  test("another tenant's admin gets 404 for GET, PATCH and DELETE", async () => {
    const h = await fresh();
    const id = await acmeHook(h);
    const globex = await h.key("globex", "admin");
    await expectError(await h.call("GET", `/v1/webhooks/${id}`, { key: globex }), 404, "not_found");
    await expectError(
      await h.call("PATCH", `/v1/webhooks/${id}`, { key: globex, body: { description: "mine" } }),
      404,
      "not_found",
    );
    await expectError(await h.call("DELETE", `/v1/webhooks/${id}`, { key: globex }), 404, "not_found");
    const list = (await (await h.call("GET", "/v1/webhooks", { key: globex })).json()) as { data: unknown[] };
    expect(list.data).toEqual([]);
    // Still there, untouched.
    const after = (await (await h.call("GET", `/v1/webhooks/${id}`)).json()) as { description: string };
    expect(after.description).toBe("");
  });

  test("a viewer of the same tenant sees it", async () => {
    const h = await fresh();
    const id = await acmeHook(h);
    const viewer = await h.key("acme", "viewer");
    const one = await h.call("GET", `/v1/webhooks/${id}`, { key: viewer });
    expect(one.status).toBe(200);
    expect(((await one.json()) as { id: string }).id).toBe(id);
    const list = (await (await h.call("GET", "/v1/webhooks", { key: viewer })).json()) as { data: { id: string }[] };
    expect(list.data.map((w) => w.id)).toEqual([id]);
  });

  test("a global key lists every tenant; ?tenant= narrows", async () => {
    const h = await fresh();
    const a = await acmeHook(h);
    const g = await h.call("POST", "/v1/webhooks", {
      key: await h.key("globex", "admin"),
      body: { url: "https://example.org/g", events: ["*"] },
    });
    expect(g.status).toBe(201);
    const gid = ((await g.json()) as { id: string }).id;
    const all = (await (await h.call("GET", "/v1/webhooks")).json()) as { data: { id: string; tenant_id: string }[] };
    expect(all.data.map((w) => w.id).sort()).toEqual([a, gid].sort());
    const narrowed = (await (await h.call("GET", "/v1/webhooks?tenant=acme")).json()) as {
      data: { id: string; tenant_id: string }[];
    };
    expect(narrowed.data.map((w) => w.id)).toEqual([a]);
    expect(narrowed.data[0]?.tenant_id).toBe("acme");
    // A tenant key cannot widen its view with ?tenant=.
    const acmeViewer = await h.key("acme", "viewer");
    const other = (await (await h.call("GET", "/v1/webhooks?tenant=globex", { key: acmeViewer })).json()) as {
      data: { id: string }[];
    };
    expect(other.data.map((w) => w.id)).not.toContain(gid);
  });
});

describe("order of checks", () => {
  const broken = "{not json";

  test("no credentials and a malformed body → 401, not 400", async () => {
    const h = await fresh();
    await expectError(await h.call("POST", "/v1/webhooks", { key: null, body: broken }), 401, "unauthorized");
  });

  test("viewer and a malformed body → 403", async () => {
    const h = await fresh();
    const key = await h.key("acme", "viewer");
    await expectError(await h.call("POST", "/v1/webhooks", { key, body: broken }), 403, "forbidden");
  });

  test("admin and a malformed body → 400 bad_request", async () => {
    const h = await fresh();
    const key = await h.key("acme", "admin");
    await expectError(await h.call("POST", "/v1/webhooks", { key, body: broken }), 400, "bad_request");
  });

  test("admin and a text/plain body → 415", async () => {
    const h = await fresh();
    const key = await h.key("acme", "admin");
    const res = await h.call("POST", "/v1/webhooks", {
      key,
      body: JSON.stringify(HOOK),
      headers: { "content-type": "text/plain" },
    });
    await expectError(res, 415, "unsupported_media_type");
  });

  test("a body over server.max_body_bytes → 413, after auth", async () => {
    const h = await fresh({ server: { max_body_bytes: 2048 } });
    const big = { ...HOOK, description: "x".repeat(3000) };
    await expectError(await h.call("POST", "/v1/webhooks", { body: big }), 413, "payload_too_large");
    await expectError(await h.call("POST", "/v1/webhooks", { key: null, body: big }), 401, "unauthorized");
    const viewer = await h.key("acme", "viewer");
    await expectError(await h.call("POST", "/v1/webhooks", { key: viewer, body: big }), 403, "forbidden");
    // Just under the limit is accepted.
    const small = { ...HOOK, tenant_id: "acme", description: "x".repeat(1000) };
    expect((await h.call("POST", "/v1/webhooks", { body: small })).status).toBe(201);
  });

  test("a too-weak role learns nothing about its query (403 before 422)", async () => {
    const h = await fresh();
    const viewer = await h.key("acme", "viewer");
    await expectError(await h.call("GET", "/v1/keys?limit=abc", { key: viewer }), 403, "forbidden");
    await expectError(await h.call("GET", "/v1/keys?limit=abc", { key: null }), 401, "unauthorized");
  });

  test("tenant_id in a webhook body: a tenant key naming another → 403; a global key omitting it → 422", async () => {
    const h = await fresh();
    const acme = await h.key("acme", "admin");
    await expectError(
      await h.call("POST", "/v1/webhooks", { key: acme, body: { ...HOOK, tenant_id: "globex" } }),
      403,
      "forbidden",
    );
    const body = await expectError(await h.call("POST", "/v1/webhooks", { body: HOOK }), 422, "validation_failed");
    expect((body.errors as string[]).some((e) => e.startsWith("tenant_id"))).toBe(true);
  });

  test("validation (422) comes before not-found (404)", async () => {
    const h = await fresh();
    const res = await h.call("PATCH", "/v1/webhooks/wh_missing", { body: { enabled: "yes" } });
    const body = await expectError(res, 422, "validation_failed");
    expect((body.errors as string[]).some((e) => e.startsWith("enabled"))).toBe(true);
  });
});
