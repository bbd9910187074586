// The limits of `[security]`: JSON nesting depth, events and custom headers per webhook, and
// webhooks per tenant. Small values through config overrides, so each limit is cheap to reach.
import { describe, expect, test } from "bun:test";
import { deeperThan, parseJsonBody, UnusableBody } from "../../src/api/body.ts";
import type { Principal } from "../../src/domain/principal.ts";
import { createWebhook } from "../../src/domain/webhooks/create.ts";
import { expectError, expectInvalid } from "../support/expect-error.ts";
import { type ErrorBody, freshHarnessPerTest, json } from "../support/fixtures.ts";
import { nested } from "../support/fuzz.ts";
import type { Harness } from "../support/harness.ts";

const fresh = freshHarnessPerTest();
const open = { allow_http: true, allow_private_networks: false };

function subscribe(h: Harness, body: Record<string, unknown>, tenant = "acme") {
  return h.call("POST", "/v1/webhooks", {
    body: { tenant_id: tenant, url: `https://example.com/${crypto.randomUUID()}`, events: ["member.*"], ...body },
  });
}

describe("JSON nesting depth (security.max_json_depth, default 32)", () => {
  const publish = (data: string) => `{"tenant_id":"acme","type":"member.added","data":${data}}`;

  test("32 levels pass the parser, 33 are refused with 422 naming the body", async () => {
    const h = await fresh({ security: open });
    // The body is level 1 and `data` level 2: 30 more arrays inside make 32.
    const ok = await h.call("POST", "/v1/events", { body: publish(`{"a":${nested(30)}}`) });
    expect((await json<ErrorBody>(ok)).errors ?? []).not.toContain("body: is nested deeper than 32 levels");
    const deep = await h.call("POST", "/v1/events", { body: publish(`{"a":${nested(31)}}`) });
    expect(await expectError(deep, 422, "validation_failed")).toEqual({
      error: "validation_failed",
      message: "The request is not valid.",
      errors: ["body: is nested deeper than 32 levels"],
    });
  });

  test("100k nested arrays or 40k nested objects: 422, never a crash, and only after authentication", async () => {
    const h = await fresh({ security: open });
    for (const body of [publish(nested(100_000)), `{"data":${nested(40_000, "object")}}`]) {
      const anonymous = await h.call("POST", "/v1/events", { key: null, body });
      expect(anonymous.status).toBe(401);
      const res = await h.call("POST", "/v1/webhooks", { body });
      expect(await expectInvalid(res)).toEqual(["body: is nested deeper than 32 levels"]);
    }
    expect((await h.call("GET", "/healthz")).status).toBe(200);
  });

  test("deep nesting inside a webhook's fields is refused the same way", async () => {
    const h = await fresh({ security: open });
    const res = await h.call("POST", "/v1/webhooks", {
      body: `{"tenant_id":"acme","url":"https://example.com/x","events":["member.*"],"headers":${nested(40, "object")}}`,
    });
    expect(await expectInvalid(res)).toEqual(["body: is nested deeper than 32 levels"]);
  });

  test("the parser takes the limit as a parameter; scalars do not count as levels", async () => {
    const req = (body: string) =>
      new Request("http://x/", { method: "POST", body, headers: { "content-type": "application/json" } });
    expect(await parseJsonBody(req('{"a":[[1]]}'), 1024, 3)).toEqual({ a: [[1]] });
    const refused = await parseJsonBody(req('{"a":[[[1]]]}'), 1024, 3);
    expect(refused).toBeInstanceOf(UnusableBody);
    expect((refused as UnusableBody).error.errors).toEqual(["body: is nested deeper than 3 levels"]);
    expect(deeperThan("just a string", 1)).toBe(false);
    expect(deeperThan({ a: 1, b: "x", c: null }, 1)).toBe(false);
    expect(deeperThan({ a: {} }, 1)).toBe(true);
    expect(deeperThan([[], [[]], [[[]]]], 3)).toBe(true);
    expect(deeperThan(JSON.parse(nested(100_000)), 100_000)).toBe(false);
  });

  test("a configured max_json_depth reaches the HTTP parser", async () => {
    const h = await fresh({ security: { ...open, max_json_depth: 4 } });
    const ok = await h.call("POST", "/v1/webhooks", { body: '{"description":[[1]]}' });
    // Accepted by the parser: only the missing fields are reported.
    expect(await expectInvalid(ok)).not.toContain("body: is nested deeper than 4 levels");
    const deep = await h.call("POST", "/v1/webhooks", { body: '{"data":{"a":[[[1]]]}}' });
    expect(await expectInvalid(deep)).toEqual(["body: is nested deeper than 4 levels"]);
  });
});

describe("events per webhook (security.max_events_per_webhook)", () => {
  test("on create and on PATCH, naming the field and the setting", async () => {
    const h = await fresh({ security: { ...open, max_events_per_webhook: 2 } });
    const two = await subscribe(h, { events: ["a.*", "b.*"] });
    expect(two.status).toBe(201);
    const three = await subscribe(h, { events: ["a.*", "b.*", "c.*"] });
    expect(await expectInvalid(three)).toEqual([
      "events: must have at most 2 entries (security.max_events_per_webhook)",
    ]);
    const { id } = (await two.json()) as { id: string };
    const patch = await h.call("PATCH", `/v1/webhooks/${id}`, { body: { events: ["a.*", "b.*", "c.*"] } });
    expect(await expectInvalid(patch)).toEqual([
      "events: must have at most 2 entries (security.max_events_per_webhook)",
    ]);
  });
});

describe("custom headers per webhook (security.max_headers_per_webhook)", () => {
  test("more than the limit → 422 on create and PATCH", async () => {
    const h = await fresh({ security: { ...open, max_headers_per_webhook: 2 } });
    const ok = await subscribe(h, { headers: { "x-a": "1", "x-b": "2" } });
    expect(ok.status).toBe(201);
    const tooMany = await subscribe(h, { headers: { "x-a": "1", "x-b": "2", "x-c": "3" } });
    expect(await expectInvalid(tooMany)).toEqual([
      "headers: must have at most 2 entries (security.max_headers_per_webhook)",
    ]);
    const { id } = (await ok.json()) as { id: string };
    const patch = await h.call("PATCH", `/v1/webhooks/${id}`, { body: { headers: { a: "1", b: "2", c: "3" } } });
    expect(patch.status).toBe(422);
  });

  test("0 allows no custom header at all, but an empty object", async () => {
    const h = await fresh({ security: { ...open, max_headers_per_webhook: 0 } });
    expect((await subscribe(h, { headers: {} })).status).toBe(201);
    const one = await subscribe(h, { headers: { "x-a": "1" } });
    expect(await expectInvalid(one)).toEqual([
      "headers: must have at most 0 entries (security.max_headers_per_webhook)",
    ]);
  });

  test("values with CR/LF, NUL or beyond Latin-1 are refused by name; odd but valid names are kept", async () => {
    const h = await fresh({ security: open });
    const bad = await subscribe(h, {
      headers: { "x-crlf": "a\r\nX-Injected: 1", "x-nul": "a\u0000", "x-euro": "5 €", "x-lone": "\ud800" },
    });
    expect(await expectInvalid(bad)).toEqual([
      "headers.x-crlf: must not contain control characters (CR, LF, NUL, ...)",
      "headers.x-nul: must not contain control characters (CR, LF, NUL, ...)",
      "headers.x-euro: must contain only ASCII or Latin-1 characters",
      "headers.x-lone: must contain only ASCII or Latin-1 characters",
    ]);
    const odd = await subscribe(h, { headers: { constructor: "c", "X-Café": "é" } });
    expect(odd.status).toBe(422); // "X-Café" is not a token
    const fine = await subscribe(h, { headers: { constructor: "c", "x-cafe": "crème" } });
    expect(fine.status).toBe(201);
    expect(((await fine.json()) as { headers: unknown }).headers).toEqual({ constructor: "c", "x-cafe": "crème" });
  });
});

describe("webhooks per tenant (security.max_webhooks_per_tenant)", () => {
  test("one more than the quota → 409 conflict naming the setting; other tenants are not affected", async () => {
    const h = await fresh({ security: { ...open, max_webhooks_per_tenant: 2 } });
    const first = await subscribe(h, {});
    expect(first.status).toBe(201);
    expect((await subscribe(h, {})).status).toBe(201);
    const third = await subscribe(h, {});
    const body = await expectError(third, 409, "conflict");
    expect(body.message).toContain("This tenant has 2 webhooks");
    expect(body.message).toContain("security.max_webhooks_per_tenant");
    expect((await subscribe(h, {}, "beta")).status).toBe(201);
    // Disabled webhooks count too; deleting one frees a place.
    const { id } = (await first.json()) as { id: string };
    expect((await h.call("PATCH", `/v1/webhooks/${id}`, { body: { enabled: false } })).status).toBe(200);
    expect((await subscribe(h, {})).status).toBe(409);
    expect((await h.call("DELETE", `/v1/webhooks/${id}`)).status).toBe(204);
    expect((await subscribe(h, {})).status).toBe(201);
  });

  test("an invalid body on a full tenant is still a 422 (body before state)", async () => {
    const h = await fresh({ security: { ...open, max_webhooks_per_tenant: 1 } });
    expect((await subscribe(h, {})).status).toBe(201);
    const res = await subscribe(h, { url: "ftp://example.com/" });
    expect(res.status).toBe(422);
  });

  test("concurrent creates cannot overshoot the quota", async () => {
    const h = await fresh({ security: { ...open, max_webhooks_per_tenant: 3 } });
    const statuses = (await Promise.all(Array.from({ length: 12 }, () => subscribe(h, {})))).map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(3);
    expect(statuses.filter((s) => s === 409)).toHaveLength(9);
    // Started in the same tick, the domain calls interleave at every await: count-then-insert
    // must still be one step per tenant.
    const root: Principal = { kind: "root", id: "root", tenant: "*", role: "admin" };
    const input = () => ({ tenant_id: "beta", url: `https://example.com/${crypto.randomUUID()}`, events: ["member.*"] });
    const results = await Promise.allSettled(Array.from({ length: 12 }, () => createWebhook(h.deps, root, input())));
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(3);
    expect(await h.deps.store.countWebhooks("acme")).toBe(3);
    expect(await h.deps.store.countWebhooks("beta")).toBe(3);
  });
});
