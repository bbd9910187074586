// API.md §1 and §10: /v1/keys — keys are shown once, stored as a hash, scoped to a tenant.
import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { expectError, expectInvalid } from "../support/expect-error.ts";
import { freshHarnessPerTest, type Page } from "../support/fixtures.ts";
import type { Harness } from "../support/harness.ts";

const fresh = freshHarnessPerTest();

interface CreatedKey {
  id: string;
  key: string;
  tenant_id: string;
  role: string;
  name: string;
  prefix: string;
  created_at: string;
}

async function create(h: Harness, body: unknown, key?: string): Promise<CreatedKey> {
  const res = await h.call("POST", "/v1/keys", { body, ...(key ? { key } : {}) });
  expect(res.status).toBe(201);
  return (await res.json()) as CreatedKey;
}

async function list(h: Harness, key?: string, query = ""): Promise<Page<Record<string, unknown>>> {
  const res = await h.call("GET", `/v1/keys${query}`, key ? { key } : {});
  expect(res.status).toBe(200);
  return (await res.json()) as Page<Record<string, unknown>>;
}

function databaseText(h: Harness): string {
  const path = h.deps.config.database.path;
  let text = readFileSync(path).toString("latin1");
  if (existsSync(`${path}-wal`)) text += readFileSync(`${path}-wal`).toString("latin1");
  return text;
}

describe("POST /v1/keys by a global admin", () => {
  test("201 with the key shown once; it works at once", async () => {
    const h = await fresh();
    const before = Date.now();
    const k = await create(h, { tenant_id: "acme", role: "viewer", name: "ci" });
    expect(Object.keys(k).sort()).toEqual(["created_at", "expires_at", "id", "key", "kind", "name", "prefix", "role", "tenant_id"]);
    expect(k.key.startsWith("hkl_")).toBe(true);
    expect(k.key.length).toBeGreaterThanOrEqual(40);
    expect(k.key.startsWith(k.prefix)).toBe(true);
    expect(k.prefix.length).toBeLessThan(k.key.length / 2);
    expect(k).toMatchObject({ tenant_id: "acme", role: "viewer", name: "ci" });
    expect(k.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);
    expect(Date.parse(k.created_at)).toBeGreaterThanOrEqual(before - 1000);
    expect((await h.call("GET", "/v1/webhooks", { key: k.key })).status).toBe(200);
    // Two keys are never the same.
    const other = await create(h, { tenant_id: "acme", role: "viewer" });
    expect(other.key).not.toBe(k.key);
    expect(other.id).not.toBe(k.id);
  });

  test("GET /v1/keys lists it without the key", async () => {
    const h = await fresh();
    const k = await create(h, { tenant_id: "acme", role: "publisher", name: "pub" });
    const { data, next_cursor } = await list(h);
    expect(next_cursor).toBeNull();
    const found = data.find((x) => x.id === k.id);
    expect(found).toEqual({
      id: k.id,
      tenant_id: "acme",
      expires_at: null,
      role: "publisher",
      name: "pub",
      prefix: k.prefix,
      created_at: k.created_at,
      kind: "key",
    });
    for (const item of data) {
      expect(item).not.toHaveProperty("key");
      expect(item).not.toHaveProperty("hash");
    }
    expect(JSON.stringify(data)).not.toContain(k.key);
  });

  test("the database holds the sha256, never the plaintext", async () => {
    const h = await fresh();
    const k = await create(h, { tenant_id: "acme", role: "admin", name: "secret-check" });
    const text = databaseText(h);
    expect(text).toContain("secret-check"); // the file read is the right one
    expect(text).not.toContain(k.key);
    expect(text).not.toContain(k.key.slice(4)); // not even without its prefix
    expect(text).toContain(createHash("sha256").update(k.key).digest("hex"));
  });

  test("a global key must name tenant_id", async () => {
    const h = await fresh();
    const errors = await expectInvalid(await h.call("POST", "/v1/keys", { body: { role: "viewer" } }));
    expect(errors.some((e) => e.startsWith("tenant_id"))).toBe(true);
  });

  test("a bad role or tenant id → 422 naming the field", async () => {
    const h = await fresh();
    for (const role of ["owner", "", 5, null]) {
      const errors = await expectInvalid(await h.call("POST", "/v1/keys", { body: { tenant_id: "acme", role } }));
      expect(errors.some((e) => e.startsWith("role"))).toBe(true);
    }
    const missing = await expectInvalid(await h.call("POST", "/v1/keys", { body: { tenant_id: "acme" } }));
    expect(missing.some((e) => e.startsWith("role"))).toBe(true);
    const badTenant = await expectInvalid(await h.call("POST", "/v1/keys", { body: { tenant_id: "Acme Corp", role: "viewer" } }));
    expect(badTenant.some((e) => e.startsWith("tenant_id"))).toBe(true);
    expect((await list(h)).data).toEqual([]); // nothing was created
  });

  test("a global admin can create a key for another tenant or a global one", async () => {
    const h = await fresh();
    const g = await create(h, { tenant_id: "*", role: "admin" });
    expect(g.tenant_id).toBe("*");
    const made = await create(h, { tenant_id: "globex", role: "viewer" }, g.key);
    expect(made.tenant_id).toBe("globex");
  });
});

describe("tenant admins", () => {
  test("create keys in their own tenant, tenant_id optional, up to admin", async () => {
    const h = await fresh();
    const admin = await h.key("acme", "admin");
    const implicit = await create(h, { role: "viewer" }, admin);
    expect(implicit.tenant_id).toBe("acme");
    const explicit = await create(h, { tenant_id: "acme", role: "admin" }, admin);
    expect(explicit).toMatchObject({ tenant_id: "acme", role: "admin" });
    // The new admin key is an admin of acme, not more.
    const wh = await h.call("POST", "/v1/webhooks", {
      key: explicit.key,
      body: { url: "https://example.com/h", events: ["*"] },
    });
    expect(wh.status).toBe(201);
    expect(((await wh.json()) as { tenant_id: string }).tenant_id).toBe("acme");
    expect((await h.call("POST", "/v1/event-types", { key: explicit.key, body: { name: "a.b" } })).status).toBe(403);
  });

  test("another tenant or a global key → 403, nothing created", async () => {
    const h = await fresh();
    const admin = await h.key("acme", "admin");
    for (const tenant_id of ["globex", "*"]) {
      await expectError(await h.call("POST", "/v1/keys", { key: admin, body: { tenant_id, role: "viewer" } }), 403, "forbidden");
    }
    const all = await list(h);
    expect(all.data.map((k) => k.tenant_id)).toEqual(["acme"]); // only the harness's own key
  });

  test("viewer and publisher → 403 on POST and GET", async () => {
    const h = await fresh();
    for (const role of ["viewer", "publisher"] as const) {
      const key = await h.key("acme", role);
      await expectError(await h.call("POST", "/v1/keys", { key, body: { role: "viewer" } }), 403, "forbidden");
      await expectError(await h.call("GET", "/v1/keys", { key }), 403, "forbidden");
    }
  });

  test("the list shows only the caller's tenant", async () => {
    const h = await fresh();
    const acme = await h.key("acme", "admin");
    await h.key("globex", "admin");
    await create(h, { tenant_id: "globex", role: "viewer" });
    await create(h, { tenant_id: "*", role: "viewer" });
    const mine = await create(h, { role: "publisher" }, acme);
    const seen = await list(h, acme);
    expect(seen.data.length).toBe(2);
    expect(seen.data.every((k) => k.tenant_id === "acme")).toBe(true);
    expect(seen.data.map((k) => k.id)).toContain(mine.id);
    // ?tenant= does not widen a tenant key's view.
    const widened = await list(h, acme, "?tenant=globex");
    expect(widened.data.every((k) => k.tenant_id === "acme")).toBe(true);
    // A global key sees all and can narrow.
    expect((await list(h)).data.length).toBe(5);
    const globex = await list(h, undefined, "?tenant=globex");
    expect(globex.data.map((k) => k.tenant_id)).toEqual(["globex", "globex"]);
  });
});

test("GET /v1/keys pages newest first with an opaque cursor", async () => {
  const h = await fresh();
  const made: string[] = [];
  for (let i = 0; i < 3; i++) made.push((await create(h, { tenant_id: "acme", role: "viewer", name: `k${i}` })).id);
  const first = await list(h, undefined, "?tenant=acme&limit=2");
  expect(first.data.map((k) => k.id)).toEqual([made[2], made[1]]);
  expect(typeof first.next_cursor).toBe("string");
  const second = await list(h, undefined, `?tenant=acme&limit=2&cursor=${first.next_cursor}`);
  expect(second.data.map((k) => k.id)).toEqual([made[0]]);
  expect(second.next_cursor).toBeNull();
  await expectError(await h.call("GET", "/v1/keys?limit=101"), 422, "validation_failed");
  await expectError(await h.call("GET", "/v1/keys?cursor=nonsense"), 422, "validation_failed");
});

describe("DELETE /v1/keys/{id}", () => {
  test("another tenant's key → 404 and it keeps working", async () => {
    const h = await fresh();
    const theirs = await create(h, { tenant_id: "globex", role: "viewer" });
    const acme = await h.key("acme", "admin");
    await expectError(await h.call("DELETE", `/v1/keys/${theirs.id}`, { key: acme }), 404, "not_found");
    const global = await create(h, { tenant_id: "*", role: "viewer" });
    await expectError(await h.call("DELETE", `/v1/keys/${global.id}`, { key: acme }), 404, "not_found");
    expect((await h.call("GET", "/v1/webhooks", { key: theirs.key })).status).toBe(200);
    expect((await h.call("GET", "/v1/webhooks", { key: global.key })).status).toBe(200);
  });

  test("unknown id → 404", async () => {
    const h = await fresh();
    await expectError(await h.call("DELETE", "/v1/keys/key_doesnotexist"), 404, "not_found");
  });

  test("204, then the key no longer authenticates nor is listed; a second DELETE → 404", async () => {
    const h = await fresh();
    const k = await create(h, { tenant_id: "acme", role: "admin" });
    const keep = await create(h, { tenant_id: "acme", role: "viewer" });
    const res = await h.call("DELETE", `/v1/keys/${k.id}`);
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");
    expect((await h.call("GET", "/v1/webhooks", { key: k.key })).status).toBe(401);
    const ids = (await list(h)).data.map((x) => x.id);
    expect(ids).not.toContain(k.id);
    expect(ids).toContain(keep.id);
    await expectError(await h.call("DELETE", `/v1/keys/${k.id}`), 404, "not_found");
  });

  test("a tenant admin revokes a key of its own tenant", async () => {
    const h = await fresh();
    const admin = await h.key("acme", "admin");
    const k = await create(h, { role: "viewer" }, admin);
    expect((await h.call("DELETE", `/v1/keys/${k.id}`, { key: admin })).status).toBe(204);
    expect((await h.call("GET", "/v1/webhooks", { key: k.key })).status).toBe(401);
  });
});
