// A bounded, seeded fuzz over every /v1 route: hostile paths, queries, credentials, methods,
// content types and bodies. Whatever comes in, the answer is never a 5xx, every error is the
// `{error, message}` envelope of API.md §2, and the server still works afterwards.
// Reproduce a run with HOOKLINE_FUZZ_SEED=<seed> (printed) and HOOKLINE_FUZZ_REQUESTS=<n>.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { FetchLike } from "../../src/delivery/sender.ts";
import { envelopeProblems } from "../support/expect-error.ts";
import { type Harness, harness, ROOT_KEY } from "../support/harness.ts";
import {
  BAD_UTF8,
  CONTENT_TYPES,
  chunkedBody,
  HOSTILE_IDS,
  hostileHeaders,
  HOSTILE_QUERIES,
  HOSTILE_STRINGS,
  HOSTILE_URLS,
  nested,
  prng,
  RAW_BODIES,
  type Rng,
  randomJson,
  rawSender,
} from "../support/fuzz.ts";

const SEED = Number(process.env.HOOKLINE_FUZZ_SEED ?? 0x5eed_2026);
const REQUESTS = Number(process.env.HOOKLINE_FUZZ_REQUESTS ?? 3000);
const CONCURRENCY = 6;
/** Upper bound on request body bytes sent by the whole run. */
const BYTE_BUDGET = 24 * 1024 * 1024;
const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"] as const;
const HEADER_SAFE = HOSTILE_STRINGS.filter((s) => /^[\x20-\x7e]*$/.test(s));

interface Spec {
  method: string;
  path: string;
  key: string | null;
  headers: Record<string, string>;
  /** A number: that many bytes streamed chunked, without content-length. */
  body?: string | Uint8Array | number;
  what: string;
}

let h: Harness;
let raw: ReturnType<typeof rawSender>;
const deliveredTo: string[] = [];
const fakeFetch: FetchLike = async (url) => {
  deliveredTo.push(url);
  return new Response("ok", { status: 200 });
};
const ids = { webhook: [] as string[], event: [] as string[], delivery: [] as string[], key: [] as string[] };
const valid: string[] = [];
const junk: (string | null)[] = [];

async function json<T>(res: Response): Promise<T> {
  return (await res.json()) as T;
}

beforeAll(async () => {
  h = await harness({ security: { allow_http: true, allow_private_networks: false } }, { fetch: fakeFetch });
  raw = rawSender(h);
  for (const name of ["member.added", "member.removed", "order.created"]) {
    expect((await h.call("POST", "/v1/event-types", { body: { name, description: name } })).status).toBe(201);
  }
  for (const [i, events] of [["member.*"], ["*"], ["order.created", "member.added"]].entries()) {
    const res = await h.call("POST", "/v1/webhooks", {
      body: { tenant_id: "acme", url: `https://example.com/hook/${i}`, events, headers: { "x-team": "fuzz" } },
    });
    expect(res.status).toBe(201);
    ids.webhook.push((await json<{ id: string }>(res)).id);
  }
  for (let i = 0; i < 2; i++) {
    const res = await h.call("POST", "/v1/events", {
      body: { tenant_id: "acme", type: "member.added", data: { i } },
    });
    expect(res.status).toBe(202);
    const evt = await json<{ id: string }>(res);
    ids.event.push(evt.id);
    const full = await json<{ deliveries: { id: string }[] }>(await h.call("GET", `/v1/events/${evt.id}`));
    ids.delivery.push(...full.deliveries.map((d) => d.id));
  }
  const revoked = await json<{ id: string; key: string }>(
    await h.call("POST", "/v1/keys", { body: { tenant_id: "acme", role: "admin", name: "revoked" } }),
  );
  expect((await h.call("DELETE", `/v1/keys/${revoked.id}`)).status).toBe(204);
  valid.push(
    ROOT_KEY,
    await h.key("acme", "admin"),
    await h.key("acme", "publisher"),
    await h.key("acme", "viewer"),
    await h.key("beta", "admin"),
    await h.key("*", "viewer"),
  );
  junk.push(revoked.key, null, "hkl_not-a-real-key-0000000000000000000000", "hkl_", "x".repeat(4000), "' OR 1=1 --");
  // Keys the fuzz may revoke by id; the credentials above stay valid throughout.
  for (const name of ["spare-1", "spare-2"]) {
    const spare = await h.call("POST", "/v1/keys", { body: { tenant_id: "acme", role: "viewer", name } });
    ids.key.push((await json<{ id: string }>(spare)).id);
  }
});

afterAll(async () => {
  raw?.stop();
  await h?.close();
});

// ---- generators ----------------------------------------------------------------------------

/** A plausible-looking, often wrong, value for a field the routes know by name. */
function fieldValue(r: Rng, field: string): unknown {
  if (r.chance(0.3)) return randomJson(r);
  switch (field) {
    case "url":
      return r.chance(0.1) ? `https://example.com/${"a".repeat(3000)}` : r.pick(HOSTILE_URLS);
    case "events":
      return r.pick<unknown>([
        [r.pick(HOSTILE_STRINGS)],
        ["member.added", "member.added"],
        Array.from({ length: 150 }, (_, i) => `member.t${i}`),
        ["x".repeat(1000)],
        "member.added",
        [],
        [1, 2],
      ]);
    case "description":
    case "name":
      return r.chance(0.05) ? "é".repeat(50_000) : r.pick(HOSTILE_STRINGS);
    case "headers":
      return hostileHeaders(r);
    case "schema":
      return r.pick<unknown>([
        { type: "nope" },
        { $ref: "#/nope" },
        { $ref: "#" },
        { format: "not-a-format" },
        { pattern: "(" },
        { minimum: "x" },
        { $schema: "http://json-schema.org/draft-04/schema#" },
        { $id: "http://evil.example/schema" },
        { type: "object", required: ["a"], properties: { a: { type: "string" } } },
        JSON.parse(nested(30, "object")),
        "not an object",
        null,
      ]);
    case "data":
      return r.pick<unknown>([JSON.parse(nested(30, "object")), { a: "\u0000\ud800" }, [], "x", randomJson(r)]);
    case "tenant_id":
      return r.pick(["acme", "beta", "*", "ACME", "../x", "' OR 1=1 --", "a".repeat(65), "\u0000"]);
    case "role":
      return r.pick(["viewer", "publisher", "admin", "root", "", "Admin"]);
    default:
      return r.pick(HOSTILE_STRINGS);
  }
}

const FIELDS: [RegExp, string[]][] = [
  [/^\/v1\/keys$/, ["tenant_id", "role", "name", "expires_at"]],
  [/^\/v1\/event-types/, ["name", "description", "schema", "archived"]],
  [/\/rotate-secret$/, ["secret"]],
  [/\/recover$/, ["since"]],
  [/^\/v1\/webhooks(\/:id)?$/, ["url", "events", "description", "headers", "enabled", "secret", "tenant_id"]],
  [/^\/v1\/events$/, ["type", "data", "tenant_id", "idempotency_key"]],
];

/** A valid body for the route, so that one mutated field is what reaches the domain checks. */
function template(r: Rng, method: string, route: string): Record<string, unknown> {
  const n = r.int(1e9);
  if (method === "POST" && route === "/v1/keys") return { tenant_id: "acme", role: "viewer", name: `k${n}` };
  if (method === "POST" && route === "/v1/event-types") return { name: `fuzz.t${n}`, description: "d" };
  if (method === "POST" && route === "/v1/webhooks") {
    return { tenant_id: "acme", url: `https://example.com/fz/${n}`, events: ["member.*"] };
  }
  if (method === "POST" && route === "/v1/events") return { tenant_id: "acme", type: "member.added", data: { n } };
  if (route.endsWith("/recover")) return { since: "2020-01-01T00:00:00Z" };
  return method === "PATCH" ? { description: `d${n}` } : {};
}

function paramValue(r: Rng, route: string, param: string): string {
  const real =
    param === "name"
      ? ["member.added", "order.created", "webhook.test"]
      : route.startsWith("/v1/webhooks")
        ? ids.webhook
        : route.startsWith("/v1/events")
          ? ids.event
          : route.startsWith("/v1/deliveries")
            ? ids.delivery
            : ids.key;
  const v = r.chance(0.4) && real.length > 0 ? r.pick(real) : r.pick(HOSTILE_IDS);
  return v.includes("%") ? v : encodeURIComponent(v);
}

/** One request; `spend` keeps the run's body bytes under BYTE_BUDGET (over it, bodies become `{}`). */
function makeSpec(r: Rng, routes: { method: string; path: string }[], spend: (n: number) => boolean): Spec {
  // A third of the time a route that takes a body: that is where most of the checks are.
  const withBody = routes.filter((x) => x.method === "POST" || x.method === "PATCH");
  const route = r.chance(0.35) ? r.pick(withBody) : r.pick(routes);
  const method = r.chance(0.85) ? route.method : r.pick(METHODS);
  let path = route.path.replace(/:(\w+)/g, (_, p: string) => paramValue(r, route.path, p));
  if (r.chance(route.method === "GET" ? 0.4 : 0.05)) {
    path += `?${Array.from({ length: 1 + r.int(3) }, () => r.pick(HOSTILE_QUERIES)).join("&")}`;
  }
  const key = r.chance(0.75) ? r.pick(valid) : r.pick(junk);
  const headers: Record<string, string> = {};
  if (key !== null && r.chance(0.2)) headers["x-api-key"] = key;
  if (key === null && r.chance(0.3)) headers.authorization = r.pick(["Basic Zm9vOmJhcg==", "Bearer", "Bearer a b"]);
  if (r.chance(0.1)) headers["idempotency-key"] = r.chance(0.2) ? "k".repeat(1000) : r.pick(HEADER_SAFE);
  if (r.chance(0.05)) headers["x-request-id"] = r.pick(["a".repeat(300), "a b", "", r.pick(HEADER_SAFE)]);
  if (r.chance(0.01) && spend(20_000)) headers["x-junk"] = "j".repeat(20_000);
  const what = `${method} ${route.path}`;
  const sentKey = headers["x-api-key"] !== undefined ? null : key;
  if (method === "GET" || method === "HEAD") return { method, path, key: sentKey, headers, what };
  if (r.chance(0.1)) headers["content-type"] = r.pick(CONTENT_TYPES);
  const k = r.next();
  let body: string | Uint8Array | number;
  if (k < 0.08) body = r.pick(RAW_BODIES);
  else if (k < 0.12) {
    // Deeper than the limit, up to 100k levels (still under max_body_bytes).
    const levels = r.pick([30, 31, 32, 33, 64, 1000, 30_000, 100_000]);
    const deep = nested(levels, levels > 30_000 ? "array" : r.pick(["array", "object"] as const));
    body = `{"type":"member.added","tenant_id":"acme","data":{"a":${deep}}}`;
  } else if (k < 0.15) body = r.pick(BAD_UTF8);
  else if (k < 0.155) body = `{"data":"${"x".repeat(300_000)}"}`;
  else if (k < 0.165) body = r.pick([1_000, 200_000, 300_000, 1_000_000]);
  else {
    const fields = FIELDS.find(([re]) => re.test(route.path))?.[1] ?? ["secret", "since"];
    const obj: Record<string, unknown> = {};
    if (r.chance(0.5)) {
      Object.assign(obj, template(r, method, route.path));
      const f = r.pick(fields);
      obj[f] = fieldValue(r, f);
    } else for (const f of fields) if (r.chance(0.7)) obj[f] = fieldValue(r, f);
    if (r.chance(0.1)) obj[r.pick(["zzz", "id", "tenant", "failure_count"])] = randomJson(r);
    body = JSON.stringify(obj);
  }
  if (!spend(typeof body === "number" ? body : typeof body === "string" ? Buffer.byteLength(body) : body.byteLength)) {
    body = "{}";
  }
  return { method, path, key: sentKey, headers, body, what };
}

// ---- the run -------------------------------------------------------------------------------

async function send(s: Spec): Promise<Response> {
  if (s.body instanceof Uint8Array || typeof s.body === "number") {
    const headers: Record<string, string> = { "content-type": "application/json", ...s.headers };
    if (s.key) headers.authorization = `Bearer ${s.key}`;
    return raw.send(s.method, s.path, headers, typeof s.body === "number" ? chunkedBody(s.body) : s.body);
  }
  return h.call(s.method, s.path, {
    key: s.key,
    headers: s.headers,
    ...(s.body === undefined ? {} : { body: s.body }),
  });
}

/** Problems with one response, or an empty list. */
async function judge(s: Spec, res: Response): Promise<string[]> {
  const text = await res.text();
  const problems: string[] = [];
  if (res.status >= 500) problems.push(`status ${res.status}: ${text.slice(0, 200)}`);
  // Bun itself answers oversized headers or URLs before the app runs; those carry no envelope.
  if (res.status === 431 || res.status === 414) return problems;
  const requestId = res.headers.get("x-request-id") ?? undefined;
  // A refusal with a body: the envelope check every test makes with expectError.
  if (res.status >= 400 && s.method !== "HEAD") {
    const wrong = envelopeProblems(res.headers.get("content-type") ?? undefined, requestId, text);
    return [...problems, ...wrong.map((p) => `status ${res.status}: ${p}`)];
  }
  if (!requestId) problems.push("no x-request-id");
  if (s.method === "HEAD" || res.status === 204) return problems;
  try {
    JSON.parse(text);
  } catch {
    return [...problems, `status ${res.status} with a body that is not JSON: ${text.slice(0, 120)}`];
  }
  return problems;
}

describe("fuzz", () => {
  test(
    `${REQUESTS} hostile requests over every /v1 route: no 5xx, always the error envelope`,
    async () => {
      console.log(`fuzz seed=${SEED} (0x${SEED.toString(16)}) requests=${REQUESTS}`);
      const routes = h.app.routes
        .filter((r) => r.path.startsWith("/v1"))
        .map((r) => ({ method: r.method, path: r.path }));
      expect(routes.length).toBeGreaterThanOrEqual(20);
      const r = prng(SEED);
      let bytes = 0;
      const spend = (n: number): boolean => {
        if (bytes + n > BYTE_BUDGET) return false;
        bytes += n;
        return true;
      };
      const specs = Array.from({ length: REQUESTS }, () => makeSpec(r, routes, spend));
      const failures: string[] = [];
      const statuses = new Map<number, number>();
      const hit = new Set<string>();
      const started = performance.now();
      for (let i = 0; i < specs.length; i += CONCURRENCY) {
        const batch = specs.slice(i, i + CONCURRENCY);
        await Promise.all(
          batch.map(async (s, j) => {
            const res = await send(s);
            statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
            hit.add(s.what);
            for (const p of await judge(s, res)) failures.push(`#${i + j} ${s.method} ${s.path.slice(0, 120)} → ${p}`);
          }),
        );
      }
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      console.log(
        `fuzz: ${specs.length} requests, ${(bytes / 1024).toFixed(0)} KiB of bodies, ${seconds}s, statuses`,
        Object.fromEntries([...statuses].sort(([a], [b]) => a - b)),
      );
      expect(failures.slice(0, 20)).toEqual([]);
      // Every real route was exercised with its own method at least once.
      for (const route of routes) expect(hit).toContain(`${route.method} ${route.path}`);
      // Deliveries went to the injected fetch only, and only to the resolver's public host names.
      for (const url of deliveredTo) expect(new URL(url).protocol).toMatch(/^https?:$/);
    },
    60_000,
  );

  test("afterwards the server is alive and a normal create and list still work", async () => {
    expect((await h.call("GET", "/healthz")).status).toBe(200);
    const url = `https://example.com/after-fuzz/${SEED}`;
    const created = await h.call("POST", "/v1/webhooks", { body: { tenant_id: "acme", url, events: ["*"] } });
    expect(created.status).toBe(201);
    const { id } = await json<{ id: string }>(created);
    const list = await h.call("GET", "/v1/webhooks?tenant=acme&limit=5");
    expect(list.status).toBe(200);
    const page = await json<{ data: { id: string; url: string }[] }>(list);
    expect(page.data[0]).toMatchObject({ id, url });
    const published = await h.call("POST", "/v1/events", { body: { tenant_id: "acme", type: "member.removed", data: {} } });
    expect([202, 422]).toContain(published.status); // 422 only if the fuzz archived the type
  });
});
