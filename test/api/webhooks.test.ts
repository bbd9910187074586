// POST /v1/webhooks (API.md §4, §10): the created object, the secret, URL normalisation and every
// validation rule, each 422 naming its field.
import { afterEach, describe, expect, test } from "bun:test";
import type { Resolver } from "../../src/domain/destination.ts";
import { upsertDeclaredEventTypes } from "../../src/domain/event-types.ts";
import { expectError, expectInvalid } from "../support/expect-error.ts";
import { type Harness, harness } from "../support/harness.ts";

/** A parsed JSON response: the fields these tests read, loosely typed. */
interface Json {
  [key: string]: unknown;
  id?: string;
  tenant_id?: string;
  url?: string;
  events?: string[];
  description?: string;
  enabled?: boolean;
  headers?: Record<string, string>;
  failure_count?: number;
  disabled_reason?: string | null;
  created_at?: string;
  updated_at?: string;
  secret?: string;
  error?: string;
  errors?: string[];
  data?: Json[];
  next_cursor?: string | null;
}
type Fields = Record<string, unknown>;
type Overrides = Parameters<typeof harness>[0];

const SECRET_RE = /^whsec_[A-Za-z0-9+/]+=*$/;
const ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const TYPES = [
  { name: "member.added", description: "" },
  { name: "member.removed", description: "" },
  { name: "invoice.paid", description: "" },
];

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** A harness with the usual event types declared. */
async function setup(overrides: Overrides = {}, extra: Parameters<typeof harness>[1] = {}): Promise<Harness> {
  h = await harness({ event_types: TYPES, ...overrides }, extra);
  await upsertDeclaredEventTypes(h.deps);
  return h;
}

function body(overrides: Fields = {}): Fields {
  return { tenant_id: "acme", url: "https://hooks.example.com/in", events: ["member.added"], ...overrides };
}

async function create(hh: Harness, overrides: Fields = {}, key?: string): Promise<Response> {
  return hh.call("POST", "/v1/webhooks", { body: body(overrides), ...(key ? { key } : {}) });
}

async function created(hh: Harness, overrides: Fields = {}): Promise<Json> {
  const res = await create(hh, overrides);
  const json = (await res.json()) as Json;
  if (res.status !== 201) throw new Error(`expected 201, got ${res.status}: ${JSON.stringify(json)}`);
  return json;
}

function table(t: Record<string, string[]>): Resolver {
  return async (host) => {
    const found = t[host];
    if (!found) throw Object.assign(new Error("not found"), { code: "ENOTFOUND" });
    return found;
  };
}

describe("create: the object and its secret", () => {
  test("201 with the full §4 shape and a generated secret shown only here", async () => {
    const hh = await setup();
    const res = await create(hh, { description: "CRM sync", headers: { "X-Team": "crm" } });
    expect(res.status).toBe(201);
    const w = (await res.json()) as Json;
    expect(Object.keys(w).sort()).toEqual(
      ["created_at", "description", "disabled_reason", "enabled", "events", "failure_count", "headers", "id", "secret", "tenant_id", "updated_at", "url"],
    );
    expect(w).toMatchObject({
      tenant_id: "acme",
      url: "https://hooks.example.com/in",
      events: ["member.added"],
      description: "CRM sync",
      enabled: true,
      headers: { "x-team": "crm" },
      failure_count: 0,
      disabled_reason: null,
    });
    expect(w.id).toMatch(/^wh_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(w.created_at).toMatch(ISO_RE);
    expect(w.updated_at).toBe(w.created_at);
    expect(w.secret).toMatch(SECRET_RE);
    expect(Buffer.from(String(w.secret).slice("whsec_".length), "base64")).toHaveLength(32);

    const got = (await (await hh.call("GET", `/v1/webhooks/${w.id}`)).json()) as Json;
    expect("secret" in got).toBe(false);
    const { secret: _s, ...withoutSecret } = w;
    expect(got).toEqual(withoutSecret);
    const list = (await (await hh.call("GET", "/v1/webhooks")).json()) as Json;
    expect(list.data).toEqual([withoutSecret]);
    expect(JSON.stringify(list)).not.toContain(w.secret);
  });

  test("two webhooks get different secrets; description defaults to '' and headers to {}", async () => {
    const hh = await setup();
    const a = await created(hh, { url: "https://a.example.com/" });
    const b = await created(hh, { url: "https://b.example.com/" });
    expect(a.secret).not.toBe(b.secret);
    expect(a.description).toBe("");
    expect(a.headers).toEqual({});
  });

  test("a caller-supplied valid secret is kept and only shown in the create response", async () => {
    const hh = await setup();
    const secret = `whsec_${Buffer.alloc(24, 7).toString("base64")}`;
    const w = await created(hh, { secret });
    expect(w.secret).toBe(secret);
    const got = await (await hh.call("GET", `/v1/webhooks/${w.id}`)).text();
    expect(got).not.toContain(secret);
    expect(got).not.toContain("secret");
    const long = `whsec_${Buffer.alloc(64, 1).toString("base64")}`;
    expect((await created(hh, { url: "https://b.example.com/", secret: long })).secret).toBe(long);
  });

  test("enabled: false creates a disabled webhook (reason manual)", async () => {
    const hh = await setup();
    const w = await created(hh, { enabled: false });
    expect(w).toMatchObject({ enabled: false, disabled_reason: "manual" });
  });

  test.each([
    ["https://EXAMPLE.com/a", "https://example.com/a"],
    ["https://example.com:443/a/../b", "https://example.com/b"],
    ["https://example.com", "https://example.com/"],
    ["HTTPS://Hooks.Example.COM/Path?q=1", "https://hooks.example.com/Path?q=1"],
  ])("the URL %p is stored normalised as %p", async (input, normalised) => {
    const hh = await setup();
    const w = await created(hh, { url: input });
    expect(w.url).toBe(normalised);
    expect(((await (await hh.call("GET", `/v1/webhooks/${w.id}`)).json()) as Json).url).toBe(normalised);
  });
});

describe("create: url", () => {
  test("http is refused unless security.allow_http", async () => {
    const hh = await setup();
    const errors = await expectInvalid(await create(hh, { url: "http://hooks.example.com/in" }), "url");
    // The error names the setting, as the private-network one does.
    expect(errors).toContain("url: must use https; set security.allow_http to allow http");
    await h?.close();
    const open = await setup({ security: { allow_http: true, allow_private_networks: false } });
    expect((await created(open, { url: "http://hooks.example.com/in" })).url).toBe("http://hooks.example.com/in");
  });

  test("not absolute, or another scheme → 422 naming url", async () => {
    const hh = await setup();
    await expectInvalid(await create(hh, { url: "/relative" }), "url");
    await expectInvalid(await create(hh, { url: "ftp://example.com/x" }), "url");
    await expectInvalid(await create(hh, { url: 42 }), "url");
  });

  test("at most 2083 characters, measured on the input", async () => {
    const hh = await setup();
    const base = "https://hooks.example.com/";
    const max = base + "a".repeat(2083 - base.length);
    expect((await created(hh, { url: max })).url).toBe(max);
    await expectInvalid(await create(hh, { url: `${max}b` }), "url");
  });

  test("loopback, private and localhost destinations are refused; public ones pass", async () => {
    const resolver = table({
      "hooks.evil.test": ["127.0.0.1"],
      "ten.evil.test": ["10.0.0.1"],
      "mixed.evil.test": ["93.184.215.14", "10.1.2.3"],
      "public.example.test": ["93.184.215.14"],
    });
    const hh = await setup({}, { resolver });
    for (const url of [
      "https://hooks.evil.test/x",
      "https://ten.evil.test/x",
      "https://mixed.evil.test/x",
      "https://localhost/x",
      "https://api.localhost/x",
      "https://127.0.0.1/x",
      "https://10.0.0.1/x",
      "https://[::1]/x",
      "https://169.254.169.254/latest",
    ]) {
      const errors = await expectInvalid(await create(hh, { url }), "url");
      expect(errors.join(" ")).toMatch(/private|loopback/);
    }
    expect((await created(hh, { url: "https://public.example.test/x" })).url).toBe("https://public.example.test/x");
    await expectInvalid(await create(hh, { url: "https://nowhere.example.test/x" }), "url");
  });

  test("allow_private_networks lets a loopback destination through (with allow_http for http)", async () => {
    const hh = await setup({ security: { allow_http: true, allow_private_networks: true } });
    expect((await created(hh, { url: "http://127.0.0.1:9/x" })).url).toBe("http://127.0.0.1:9/x");
    expect((await created(hh, { url: "https://localhost/x" })).url).toBe("https://localhost/x");
  });
});

describe("create: events, description, secret", () => {
  test("events must be non-empty and known", async () => {
    const hh = await setup();
    await expectInvalid(await create(hh, { events: [] }), "events");
    await expectInvalid(await create(hh, { events: undefined }), "events");
    const errors = await expectInvalid(await create(hh, { events: ["member.added", "nope.x"] }), "events[1]");
    expect(errors).toEqual(["events[1]: unknown event type 'nope.x'"]);
  });

  test.each(["Member.added", "member", "member.**", "*.added", "member.*.x", "**"])("bad pattern %p → 422 naming events[0]", async (p) => {
    const hh = await setup();
    await expectInvalid(await create(hh, { events: [p] }), "events[0]");
  });

  test("a type listed twice → 422 naming the second entry", async () => {
    const hh = await setup();
    await expectInvalid(await create(hh, { events: ["member.added", "member.added"] }), "events[1]");
  });

  test("wildcards member.*, *, and the built-in webhook.test are accepted", async () => {
    const hh = await setup();
    const w = await created(hh, { events: ["member.*", "*", "webhook.test", "team.members.*"] });
    expect(w.events).toEqual(["member.*", "*", "webhook.test", "team.members.*"]);
  });

  test("description at most 1000 characters", async () => {
    const hh = await setup();
    expect((await created(hh, { description: "d".repeat(1000) })).description).toHaveLength(1000);
    await expectInvalid(await create(hh, { url: "https://b.example.com/", description: "d".repeat(1001) }), "description");
  });

  test.each([
    ["a newline", "orders\nINFO forged log line"],
    ["a tab", "a\tb"],
    ["an escape sequence", "\u001b[2Jcleared"],
    ["DEL", "a\u007f"],
    ["a C1 control", "a\u009b31m"],
    ["a line separator", "a\u2028b"],
    ["a bidi override", "invoice \u202egnp.exe"],
    ["a bidi isolate", "a\u2066b"],
  ])("a description with %s → 422 description: must not contain control characters", async (_why, description) => {
    const hh = await setup();
    const errors = await expectInvalid(await create(hh, { description }), "description");
    expect(errors).toEqual(["description: must not contain control characters"]);
  });

  test("a description may hold any other Unicode, right-to-left marks included", async () => {
    const hh = await setup();
    const description = "Commandes — 注文 🎉 שלום\u200f";
    expect((await created(hh, { description })).description).toBe(description);
  });

  test.each([
    ["no prefix", Buffer.alloc(32, 1).toString("base64")],
    ["not base64", "whsec_not*base64!!"],
    ["unpadded", `whsec_${Buffer.alloc(32, 1).toString("base64").replace(/=+$/, "")}`],
    ["empty", "whsec_"],
    ["too short (16 bytes)", `whsec_${Buffer.alloc(16, 1).toString("base64")}`],
    ["too long (65 bytes)", `whsec_${Buffer.alloc(65, 1).toString("base64")}`],
  ])("secret %s → 422 naming secret", async (_why, secret) => {
    const hh = await setup();
    await expectInvalid(await create(hh, { secret }), "secret");
  });
});

describe("create: headers", () => {
  test("names are stored lower-case", async () => {
    const hh = await setup();
    const w = await created(hh, { headers: { "X-Api-Token": "abc", "x-other": "  spaced\tvalue " } });
    expect(w.headers).toEqual({ "x-api-token": "abc", "x-other": "  spaced\tvalue " });
  });

  test.each(["a\r\nX-Evil: 1", "a\nb", "a\rb", "a\u0000b"])("a value with control characters %p → 422", async (v) => {
    const hh = await setup();
    await expectInvalid(await create(hh, { headers: { "X-Custom": v } }), "headers.X-Custom");
  });

  test.each(["Content-Type", "content-length", "Host", "Connection", "Transfer-Encoding", "User-Agent", "webhook-id", "Webhook-Signature", "proxy-authorization", "Proxy-Anything", "X-Signature"])(
    "reserved header %p → 422",
    async (name) => {
      const hh = await setup({ signing: { hex_header: "X-Signature" } });
      await expectInvalid(await create(hh, { headers: { [name]: "v" } }), `headers.${name}`);
    },
  );

  test.each(["Content-Encoding", "content-language", "Content-MD5", "content-range", "content-disposition"])(
    "a content-* header %p → 422: the body is Hookline's",
    async (name) => {
      const hh = await setup();
      const errors = await expectInvalid(await create(hh, { headers: { [name]: "gzip" } }), `headers.${name}`);
      expect(errors).toEqual([`headers.${name}: describes the body, which Hookline writes; content-* headers cannot be set`]);
    },
  );

  test("the hex header is only reserved when configured; the same name twice (any case) → 422", async () => {
    const hh = await setup();
    expect((await created(hh, { headers: { "X-Signature": "v" } })).headers).toEqual({ "x-signature": "v" });
    await expectInvalid(await create(hh, { url: "https://b.example.com/", headers: { "X-A": "1", "x-a": "2" } }), "headers.x-a");
    await expectInvalid(await create(hh, { url: "https://b.example.com/", headers: { "bad name": "1" } }), "headers.bad name");
  });
});

describe("create: several problems, tenants, duplicates", () => {
  test("several problems are all listed at once", async () => {
    const hh = await setup();
    const res = await create(hh, {
      events: ["member.added", "nope.x"],
      description: "d".repeat(1001),
      headers: { "Content-Type": "text/plain", "X-Ok": "a\nb" },
      secret: "whsec_short",
    });
    const errors = await expectInvalid(res, "events[1]", "description", "headers.Content-Type", "headers.X-Ok", "secret");
    expect(errors).toContain("events[1]: unknown event type 'nope.x'");
  });

  test("a URL problem is listed alongside the other problems (API.md §2: every problem)", async () => {
    const hh = await setup();
    const res = await create(hh, { url: "http://hooks.example.com/in", events: ["nope.x"], description: "d".repeat(1001) });
    const errors = await expectInvalid(res, "events[0]", "description", "url");
    expect(errors).toContain("url: must use https; set security.allow_http to allow http");
  });

  test("a global key without tenant_id → 422 naming tenant_id", async () => {
    const hh = await setup();
    const { tenant_id: _t, ...noTenant } = body();
    const res = await hh.call("POST", "/v1/webhooks", { body: noTenant });
    expect(await expectInvalid(res, "tenant_id")).toHaveLength(1);
    const bad = await hh.call("POST", "/v1/webhooks", { body: body({ tenant_id: "Not A Tenant" }) });
    await expectInvalid(bad, "tenant_id");
    expect(((await (await hh.call("GET", "/v1/webhooks")).json()) as Json).data).toEqual([]);
  });

  test("a missing tenant_id is listed together with the body's other problems", async () => {
    const hh = await setup();
    const { tenant_id: _t, ...noTenant } = body();
    const res = await hh.call("POST", "/v1/webhooks", { body: { ...noTenant, events: ["nope.x"] } });
    await expectInvalid(res, "tenant_id", "events[0]");
  });

  test("a tenant admin creates in its own tenant; another tenant → 403; viewer/publisher → 403", async () => {
    const hh = await setup();
    const admin = await hh.key("acme", "admin");
    const { tenant_id: _t, ...noTenant } = body();
    const own = await hh.call("POST", "/v1/webhooks", { key: admin, body: noTenant });
    expect(own.status).toBe(201);
    expect(((await own.json()) as Json).tenant_id).toBe("acme");
    const other = await create(hh, { tenant_id: "globex", url: "https://b.example.com/" }, admin);
    await expectError(other, 403, "forbidden");
    for (const role of ["viewer", "publisher"] as const) {
      expect((await create(hh, { url: "https://c.example.com/" }, await hh.key("acme", role))).status).toBe(403);
    }
    const list = (await (await hh.call("GET", "/v1/webhooks")).json()) as Json;
    expect(list.data).toHaveLength(1);
  });

  test("the same URL in the same tenant → 409, also when disabled and after normalisation", async () => {
    const hh = await setup();
    await created(hh, { url: "https://example.com/a", enabled: false });
    for (const url of ["https://example.com/a", "https://EXAMPLE.com/a", "https://example.com:443/a", "https://example.com/x/../a"]) {
      const res = await create(hh, { url });
      await expectError(res, 409, "conflict");
    }
    const other = await create(hh, { url: "https://example.com/a", tenant_id: "globex" });
    expect(other.status).toBe(201);
    expect((await create(hh, { url: "https://example.com/a?x=1" })).status).toBe(201);
  });

  test("no credentials → 401; unknown field → 422 naming it", async () => {
    const hh = await setup();
    expect((await hh.call("POST", "/v1/webhooks", { key: null, body: body() })).status).toBe(401);
    await expectInvalid(await create(hh, { colour: "red" }), "colour");
  });
});
