// GET / PATCH / DELETE /v1/webhooks (API.md §4, §8, §10): changes, enable/disable, tenancy,
// roles, order of checks, list filters and pagination stability.
import { describe, expect, test } from "bun:test";
import type { Clock } from "../../src/domain/clock.ts";
import { upsertDeclaredEventTypes } from "../../src/domain/event-types.ts";
import { expectError, expectInvalid } from "../support/expect-error.ts";
import { freshHarnessPerTest, type HarnessOverrides, type Page as PageOf, type WebhookView as Webhook } from "../support/fixtures.ts";
import type { Harness } from "../support/harness.ts";

type Page = PageOf<Webhook>;
type Fields = Record<string, unknown>;

const MISSING_ID = "wh_01ARZ3NDEKTSV4RRFFQ69G5FAV";
const TYPES = ["member.added", "member.removed", "invoice.paid", "hookline.webhook_disabled"].map((name) => ({
  name,
  description: "",
}));

const fresh = freshHarnessPerTest();

/** A clock that moves 1 ms each time it is read, so every write has its own timestamp. */
function tickingClock(start = Date.parse("2030-01-01T00:00:00Z")): Clock {
  let now = start;
  return { now: () => now++ };
}

async function setup(overrides: HarnessOverrides = {}): Promise<Harness> {
  const h = await fresh({ event_types: TYPES, ...overrides }, { clock: tickingClock() });
  await upsertDeclaredEventTypes(h.deps);
  return h;
}

let seq = 0;
async function make(hh: Harness, fields: Fields = {}): Promise<Webhook> {
  seq += 1;
  const res = await hh.call("POST", "/v1/webhooks", {
    body: { tenant_id: "acme", url: `https://hooks.example.com/${seq}`, events: ["member.added"], ...fields },
  });
  const json = (await res.json()) as Webhook & { secret?: string };
  if (res.status !== 201) throw new Error(`create failed ${res.status}: ${JSON.stringify(json)}`);
  const { secret: _s, ...view } = json;
  return view;
}

async function get(hh: Harness, id: string, key?: string): Promise<Response> {
  return hh.call("GET", `/v1/webhooks/${id}`, key ? { key } : {});
}

async function patch(hh: Harness, id: string, body: unknown, key?: string): Promise<Response> {
  return hh.call("PATCH", `/v1/webhooks/${id}`, { body, ...(key ? { key } : {}) });
}

async function list(hh: Harness, query = "", key?: string): Promise<Page> {
  const res = await hh.call("GET", `/v1/webhooks${query}`, key ? { key } : {});
  const json = (await res.json()) as Page;
  if (res.status !== 200) throw new Error(`list failed ${res.status}: ${JSON.stringify(json)}`);
  expect(Object.keys(json).sort()).toEqual(["data", "next_cursor"]);
  return json;
}

async function ids(hh: Harness, query = "", key?: string): Promise<string[]> {
  return (await list(hh, query, key)).data.map((w) => w.id);
}

describe("PATCH /v1/webhooks/{id}", () => {
  test.each([
    ["url", { url: "https://NEW.example.com/x" }, { url: "https://new.example.com/x" }],
    ["events", { events: ["member.*", "invoice.paid"] }, { events: ["member.*", "invoice.paid"] }],
    ["description", { description: "updated" }, { description: "updated" }],
    ["headers", { headers: { "X-Team": "crm" } }, { headers: { "x-team": "crm" } }],
    ["enabled", { enabled: false }, { enabled: false, disabled_reason: "manual" }],
  ])("PATCH %s → 200 and persisted", async (_field, change, expected) => {
    const hh = await setup();
    const w = await make(hh, { description: "before", headers: { "X-Old": "1" } });
    const res = await patch(hh, w.id, change);
    expect(res.status).toBe(200);
    const out = (await res.json()) as Webhook;
    expect("secret" in out).toBe(false);
    expect(out).toEqual({ ...w, ...expected, updated_at: out.updated_at });
    expect(Date.parse(out.updated_at)).toBeGreaterThan(Date.parse(w.updated_at));
    expect((await (await get(hh, w.id)).json()) as Webhook).toEqual(out);
  });

  test("an empty body changes nothing but updated_at; headers {} clears the headers", async () => {
    const hh = await setup();
    const w = await make(hh, { headers: { "X-Old": "1" } });
    const same = (await (await patch(hh, w.id, {})).json()) as Webhook;
    expect({ ...same, updated_at: w.updated_at }).toEqual(w);
    const cleared = (await (await patch(hh, w.id, { headers: {} })).json()) as Webhook;
    expect(cleared.headers).toEqual({});
  });

  test("secret in a PATCH body → 422 naming secret, and the body is not applied", async () => {
    const hh = await setup();
    const w = await make(hh);
    const secret = `whsec_${Buffer.alloc(32, 3).toString("base64")}`;
    await expectInvalid(await patch(hh, w.id, { secret, description: "x" }), "secret");
    expect(((await (await get(hh, w.id)).json()) as Webhook).description).toBe("");
  });

  test("the same validation as create applies: http URL, unknown event, bad header, long description", async () => {
    const hh = await setup();
    const w = await make(hh);
    await expectInvalid(await patch(hh, w.id, { url: "http://hooks.example.com/x" }), "url");
    await expectInvalid(await patch(hh, w.id, { url: "https://127.0.0.1/x" }), "url");
    await expectInvalid(await patch(hh, w.id, { events: [] }), "events");
    await expectInvalid(await patch(hh, w.id, { events: ["nope.x"] }), "events[0]");
    await expectInvalid(await patch(hh, w.id, { headers: { "Webhook-Id": "x" } }), "headers.Webhook-Id");
    await expectInvalid(await patch(hh, w.id, { description: "d".repeat(1001) }), "description");
    await expectInvalid(await patch(hh, w.id, { description: "forged\nINFO admin logged in" }), "description");
    await expectInvalid(await patch(hh, w.id, { headers: { "Content-Encoding": "gzip" } }), "headers.Content-Encoding");
    await expectInvalid(await patch(hh, w.id, { tenant_id: "globex" }), "tenant_id");
    expect((await (await get(hh, w.id)).json()) as Webhook).toEqual(w);
  });

  test("a URL used by another webhook of the tenant → 409; its own URL or another tenant's is fine", async () => {
    const hh = await setup();
    const a = await make(hh, { url: "https://a.example.com/hook" });
    const b = await make(hh, { url: "https://b.example.com/hook", enabled: false });
    const res = await patch(hh, a.id, { url: "https://B.example.com/hook" });
    await expectError(res, 409, "conflict");
    expect(((await (await get(hh, a.id)).json()) as Webhook).url).toBe("https://a.example.com/hook");
    expect((await patch(hh, a.id, { url: "https://a.example.com/hook" })).status).toBe(200);
    const other = await make(hh, { tenant_id: "globex", url: "https://c.example.com/hook" });
    expect((await patch(hh, other.id, { url: b.url })).status).toBe(200);
  });

  test("disable (manual) then re-enable: failure_count reset and disabled_reason cleared", async () => {
    const hh = await setup();
    const w = await make(hh);
    const off = (await (await patch(hh, w.id, { enabled: false })).json()) as Webhook;
    expect(off).toMatchObject({ enabled: false, disabled_reason: "manual" });
    // Disabling again keeps the first reason.
    expect((await (await patch(hh, w.id, { enabled: false })).json()) as Webhook).toMatchObject({ disabled_reason: "manual" });

    // Simulate a webhook the dispatcher disabled after a failure streak.
    const now = hh.deps.clock.now();
    await hh.deps.store.updateWebhook(w.id, { enabled: false, disabledReason: "failing", failureCount: 7, failingSince: now }, now);
    expect((await (await get(hh, w.id)).json()) as Webhook).toMatchObject({ failure_count: 7, disabled_reason: "failing" });

    const on = await patch(hh, w.id, { enabled: true });
    expect(on.status).toBe(200);
    const body = (await on.json()) as Webhook;
    expect(body).toMatchObject({ enabled: true, failure_count: 0, disabled_reason: null });
    expect((await (await get(hh, w.id)).json()) as Webhook).toMatchObject({ enabled: true, failure_count: 0, disabled_reason: null });
  });

  // That disabling fails the webhook's pending deliveries is shown in delivery.test.ts, where
  // real deliveries exist.
});

describe("DELETE and tenancy", () => {
  test("DELETE → 204 with no body, then GET/PATCH/DELETE → 404", async () => {
    const hh = await setup();
    const w = await make(hh);
    const keep = await make(hh);
    const res = await hh.call("DELETE", `/v1/webhooks/${w.id}`);
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");
    expect((await get(hh, w.id)).status).toBe(404);
    expect((await patch(hh, w.id, { description: "x" })).status).toBe(404);
    expect((await hh.call("DELETE", `/v1/webhooks/${w.id}`)).status).toBe(404);
    expect(await ids(hh)).toEqual([keep.id]);
    // The URL is free again.
    expect((await make(hh, { url: w.url })).url).toBe(w.url);
  });

  test("another tenant's webhook is 404 for GET/PATCH/DELETE, never 403, and stays untouched", async () => {
    const hh = await setup();
    const theirs = await make(hh, { tenant_id: "globex" });
    for (const role of ["viewer", "admin"] as const) {
      const key = await hh.key("acme", role);
      const res = await get(hh, theirs.id, key);
      await expectError(res, 404, "not_found");
    }
    const admin = await hh.key("acme", "admin");
    expect((await patch(hh, theirs.id, { description: "mine" }, admin)).status).toBe(404);
    expect((await hh.call("DELETE", `/v1/webhooks/${theirs.id}`, { key: admin })).status).toBe(404);
    expect((await (await get(hh, theirs.id)).json()) as Webhook).toEqual(theirs);
  });

  test("unknown or malformed ids → 404", async () => {
    const hh = await setup();
    for (const id of [MISSING_ID, "nope", "evt_01ARZ3NDEKTSV4RRFFQ69G5FAV"]) {
      expect((await get(hh, id)).status).toBe(404);
    }
  });

  test("a viewer can GET and list but not PATCH, DELETE or POST (403)", async () => {
    const hh = await setup();
    const w = await make(hh);
    const viewer = await hh.key("acme", "viewer");
    expect((await get(hh, w.id, viewer)).status).toBe(200);
    expect(await ids(hh, "", viewer)).toEqual([w.id]);
    const publisher = await hh.key("acme", "publisher");
    for (const key of [viewer, publisher]) {
      const p = await patch(hh, w.id, { description: "x" }, key);
      await expectError(p, 403, "forbidden");
      expect((await hh.call("DELETE", `/v1/webhooks/${w.id}`, { key })).status).toBe(403);
      const post = await hh.call("POST", "/v1/webhooks", {
        key,
        body: { url: "https://new.example.com/", events: ["member.added"] },
      });
      expect(post.status).toBe(403);
    }
    expect((await (await get(hh, w.id)).json()) as Webhook).toEqual(w);
  });

  test("order of checks: 401 → 403 → 422 → 404", async () => {
    const hh = await setup();
    const w = await make(hh);
    const theirs = await make(hh, { tenant_id: "globex" });
    const viewer = await hh.key("acme", "viewer");
    const admin = await hh.key("acme", "admin");
    expect((await hh.call("PATCH", `/v1/webhooks/${w.id}`, { key: null, body: { events: "x" } })).status).toBe(401);
    expect((await patch(hh, w.id, { events: "not-a-list", secret: 1 }, viewer)).status).toBe(403);
    expect((await patch(hh, MISSING_ID, { events: [] }, viewer)).status).toBe(403);
    await expectInvalid(await patch(hh, MISSING_ID, { events: [] }, admin), "events");
    await expectInvalid(await patch(hh, theirs.id, { url: "http://x.example.com/" }, admin), "url");
    expect((await patch(hh, MISSING_ID, { description: "ok" }, admin)).status).toBe(404);
  });
});

describe("GET /v1/webhooks", () => {
  test("newest first, with limit and next_cursor; the last page has next_cursor null", async () => {
    const hh = await setup();
    const made = [];
    for (let i = 0; i < 5; i++) made.push((await make(hh)).id);
    const newestFirst = [...made].reverse();
    expect(await ids(hh)).toEqual(newestFirst);
    const p1 = await list(hh, "?limit=2");
    expect(p1.data.map((w) => w.id)).toEqual(newestFirst.slice(0, 2));
    expect(typeof p1.next_cursor).toBe("string");
    const p2 = await list(hh, `?limit=2&cursor=${encodeURIComponent(p1.next_cursor ?? "")}`);
    expect(p2.data.map((w) => w.id)).toEqual(newestFirst.slice(2, 4));
    const p3 = await list(hh, `?limit=2&cursor=${encodeURIComponent(p2.next_cursor ?? "")}`);
    expect(p3.data.map((w) => w.id)).toEqual(newestFirst.slice(4));
    expect(p3.next_cursor).toBeNull();
    expect((await list(hh, "?limit=5")).next_cursor).toBeNull();
    expect((await list(hh, "?limit=1")).data).toHaveLength(1);
    expect((await list(hh, "?limit=100")).data).toHaveLength(5);
  });

  test.each(["0", "101", "abc", "-1", "2.5"])("limit=%s → 422 naming limit", async (limit) => {
    const hh = await setup();
    await expectInvalid(await hh.call("GET", `/v1/webhooks?limit=${limit}`), "limit");
  });

  test("a bad cursor → 422 naming cursor (garbage, or another list's cursor)", async () => {
    const hh = await setup();
    await expectInvalid(await hh.call("GET", "/v1/webhooks?cursor=garbage"), "cursor");
    const keyCursor = Buffer.from("v1:key_01ARZ3NDEKTSV4RRFFQ69G5FAV").toString("base64url");
    await expectInvalid(await hh.call("GET", `/v1/webhooks?cursor=${keyCursor}`), "cursor");
  });

  test("enabled=true|false filters; anything else → 422 naming enabled", async () => {
    const hh = await setup();
    const on = await make(hh);
    const off = await make(hh, { enabled: false });
    expect(await ids(hh, "?enabled=true")).toEqual([on.id]);
    expect(await ids(hh, "?enabled=false")).toEqual([off.id]);
    await expectInvalid(await hh.call("GET", "/v1/webhooks?enabled=yes"), "enabled");
  });

  test("event= returns webhooks that would receive the type; * does not match webhook.test or hookline.*", async () => {
    const hh = await setup();
    const exact = await make(hh, { events: ["member.added"] });
    const prefix = await make(hh, { events: ["member.*"] });
    const star = await make(hh, { events: ["*"] });
    const other = await make(hh, { events: ["invoice.paid", "member.removed"] });
    const testOnly = await make(hh, { events: ["webhook.test"] });
    expect((await ids(hh, "?event=member.added")).sort()).toEqual([exact.id, prefix.id, star.id].sort());
    expect((await ids(hh, "?event=member.removed")).sort()).toEqual([prefix.id, star.id, other.id].sort());
    expect(await ids(hh, "?event=webhook.test")).toEqual([testOnly.id]);
    expect(await ids(hh, "?event=hookline.webhook_disabled")).toEqual([]);
    expect(await ids(hh, "?event=member.added.extra")).toEqual([prefix.id, star.id].reverse());
    expect(await ids(hh, "?event=membership.added")).toEqual([star.id]);
    await expectInvalid(await hh.call("GET", "/v1/webhooks?event=member.*"), "event");
  });

  test("a global key sees every tenant and ?tenant= narrows; a tenant key sees only its own", async () => {
    const hh = await setup();
    const a1 = await make(hh, { tenant_id: "acme" });
    const g1 = await make(hh, { tenant_id: "globex" });
    const a2 = await make(hh, { tenant_id: "acme" });
    expect(await ids(hh)).toEqual([a2.id, g1.id, a1.id]);
    expect(await ids(hh, "?tenant=acme")).toEqual([a2.id, a1.id]);
    expect(await ids(hh, "?tenant=globex")).toEqual([g1.id]);
    expect(await ids(hh, "?tenant=nobody")).toEqual([]);
    await expectInvalid(await hh.call("GET", "/v1/webhooks?tenant=Not%20Valid"), "tenant");
    const acmeViewer = await hh.key("acme", "viewer");
    expect(await ids(hh, "", acmeViewer)).toEqual([a2.id, a1.id]);
    expect(await ids(hh, "?tenant=globex", acmeViewer)).toEqual([a2.id, a1.id]);
    const globalViewer = await hh.key("*", "viewer");
    expect(await ids(hh, "?tenant=globex", globalViewer)).toEqual([g1.id]);
  });

  test("pagination is stable while webhooks are created between pages", async () => {
    const hh = await setup();
    const original: string[] = [];
    for (let i = 0; i < 25; i++) original.push((await make(hh)).id);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = `?limit=7${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
      const page = await list(hh, query);
      expect(page.data.length).toBeLessThanOrEqual(7);
      seen.push(...page.data.map((w) => w.id));
      cursor = page.next_cursor;
      pages += 1;
      // Five newer webhooks appear before the next page is fetched.
      for (let i = 0; i < 5; i++) await make(hh);
    } while (cursor !== null && pages < 20);
    expect(pages).toBe(4);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual([...original].reverse());
    expect((await list(hh, "?limit=100")).data).toHaveLength(25 + 5 * pages);
  });
});
