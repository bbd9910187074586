// Every /v1 route answers the common refusals alike (unkey's runCommonRouteTests, adapted): no
// credentials → 401, a credential too weak for the route → 403, another tenant's resource and an
// unknown one → 404, each as the error envelope the document declares, with RateLimit-* headers.
// The routes, the role each needs and the request bodies come from the served OpenAPI document,
// so a new route is covered as soon as it is served and the suite cannot disagree with the
// document: a route the document leaves out, a role it does not state, or a path parameter this
// file cannot make a resource for fails the first describe block.
import { afterAll, describe, expect, test } from "bun:test";
import { ROLES, type Role } from "../../src/domain/principal.ts";
import { expectError } from "../support/expect-error.ts";
import { createEventTypes, createWebhook, json, publishEvent, publishForDelivery } from "../support/fixtures.ts";
import { harness, ROOT_KEY } from "../support/harness.ts";
import { responseChecker } from "../support/openapi-check.ts";

type Need = Role | "global-admin";

interface DocOperation {
  description?: string;
  requestBody?: { content?: { "application/json"?: { example?: unknown } } };
}

interface Doc {
  paths: Record<string, Record<string, DocOperation>>;
}

interface Operation {
  method: string;
  /** As the document writes it: /v1/webhooks/{id}. */
  path: string;
  need: Need | undefined;
  /** The document's example body, sent with every call so that only the credential differs. */
  body: unknown;
}

/** A resource a path parameter names, made for one test. */
interface Made {
  value: string;
  /** Well-formed like `value`, but nothing has it. */
  unknown: string;
}

// Tenant A is the one the document's examples name ("tenant_id": "acme"), so an example body
// acts in the caller's own tenant; B is any other.
const A = "acme";
const B = "globex";
// The type the examples publish and subscribe to (POST /v1/events, PATCH /v1/webhooks/{id}).
const EXAMPLE_TYPE = "member.added";
const HTTP_METHODS = ["get", "put", "post", "patch", "delete"];

// retention.days 0 keeps every event, so the replay example's fixed `since` is never over it.
const h = await harness({ retention: { days: 0, payload_days: 0 } });
afterAll(() => h.close());
await createEventTypes(h, [EXAMPLE_TYPE]);
const doc = await json<Doc>(await h.call("GET", "/openapi.json", { key: null }));
const checker = responseChecker(doc as unknown as Record<string, unknown>);

/** The role a route needs, read from the sentence src/api/auth.ts puts in its description. */
function needOf(description = ""): Need | undefined {
  if (description.includes("Requires a **global admin** key.")) return "global-admin";
  const role = /Requires role \*\*(\w+)\*\* or higher\./.exec(description)?.[1];
  return ROLES.find((r) => r === role);
}

const operations: Operation[] = Object.entries(doc.paths)
  .filter(([path]) => path.startsWith("/v1/"))
  .flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => HTTP_METHODS.includes(method))
      .map(([method, op]) => ({
        method: method.toUpperCase(),
        path,
        need: needOf(op.description),
        body: op.requestBody?.content?.["application/json"]?.example,
      })),
  );

// ---- credentials ----------------------------------------------------------------------------

const keys = new Map<string, Promise<string>>();
/** One key per (tenant, role), made on first use. */
function keyOf(tenant: string, role: Role): Promise<string> {
  const id = `${tenant}/${role}`;
  if (!keys.has(id)) keys.set(id, h.key(tenant, role));
  return keys.get(id) as Promise<string>;
}

/** Every credential below `need`: tenant A's lower roles; for global routes also A's admin and lower global roles. */
function weakerThan(need: Need): { tenant: string; role: Role }[] {
  if (need === "global-admin") {
    return [{ tenant: A, role: "admin" }, ...ROLES.filter((r) => r !== "admin").map((role) => ({ tenant: "*", role }))];
  }
  return ROLES.slice(0, ROLES.indexOf(need)).map((role) => ({ tenant: A, role }));
}

// ---- resources ------------------------------------------------------------------------------

let seq = 0;

/** An id of the same kind that was never issued: its ULID part zeroed. */
function unknownLike(id: string): string {
  const unknown = id.replace(/_[0-9A-HJKMNP-TV-Z]{26}$/, `_${"0".repeat(26)}`);
  if (unknown === id) throw new Error(`${id} is not <prefix>_<ULID>: say here how to make an unknown one`);
  return unknown;
}

const owned = (id: string): Made => ({ value: id, unknown: unknownLike(id) });

function newWebhook() {
  return createWebhook(h, { tenant_id: A, url: `https://hooks.example.com/common/${++seq}`, events: [EXAMPLE_TYPE] });
}

/**
 * How to make what a path parameter names, keyed by the path up to that parameter. `global`:
 * the resource belongs to no tenant (only global admins reach it), so there is no other
 * tenant's copy to look for.
 */
const MAKERS: Record<string, { global: boolean; make(): Promise<Made> }> = {
  "/v1/keys/{id}": {
    global: false,
    async make() {
      const res = await h.call("POST", "/v1/keys", { body: { tenant_id: A, role: "viewer" } });
      expect(res.status).toBe(201);
      return owned((await json<{ id: string }>(res)).id);
    },
  },
  "/v1/event-types/{name}": {
    global: true,
    async make() {
      const name = `common.type${++seq}`;
      await createEventTypes(h, [name]);
      return { value: name, unknown: "common.never-declared" };
    },
  },
  "/v1/webhooks/{id}": { global: false, make: async () => owned((await newWebhook()).id) },
  "/v1/events/{id}": {
    global: false,
    make: async () => owned((await publishEvent(h, { tenant_id: A, type: EXAMPLE_TYPE, data: {} })).id),
  },
  "/v1/deliveries/{id}": {
    global: false,
    async make() {
      await newWebhook();
      return owned((await publishForDelivery(h, { tenant_id: A, type: EXAMPLE_TYPE, data: {} })).deliveryId);
    },
  },
};

/**
 * Paths whose second parameter names a resource of the first (a replay of a webhook): their
 * maker fills both, and the unknown path names a replay nobody started, of a webhook that exists.
 */
const PATH_MAKERS: Record<string, () => Promise<{ path: string; unknownPath: string }>> = {
  "/v1/webhooks/{id}/replays/{replay_id}": async () => {
    const w = await newWebhook();
    const res = await h.call("POST", `/v1/webhooks/${w.id}/replay`, { body: { since: new Date(Date.now() - 60_000).toISOString() } });
    expect(res.status).toBe(202);
    const { id } = await json<{ id: string }>(res);
    return { path: `/v1/webhooks/${w.id}/replays/${id}`, unknownPath: `/v1/webhooks/${w.id}/replays/${unknownLike(id)}` };
  },
};

const PARAM = /\{\w+\}/;

/** The maker for a path's parameter, or undefined for a path without one. */
function makerFor(path: string): (typeof MAKERS)[string] | undefined {
  const first = PARAM.exec(path);
  if (!first) return undefined;
  const maker = MAKERS[path.slice(0, first.index + first[0].length)];
  if (!maker) throw new Error(`${path}: no maker for its parameter; add one to MAKERS`);
  return maker;
}

/** A fresh resource for the route (if its path names one) and the path filled with it. */
async function prepare(op: Operation): Promise<{ path: string; unknownPath: string }> {
  const both = PATH_MAKERS[op.path];
  if (both) return both();
  const made = await makerFor(op.path)?.make();
  if (!made) return { path: op.path, unknownPath: op.path };
  const fill = (v: string) => op.path.replace(PARAM, encodeURIComponent(v));
  return { path: fill(made.value), unknownPath: fill(made.unknown) };
}

// ---- calls ----------------------------------------------------------------------------------

const RATE_HEADERS = ["ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"];

/** Calls the route with the example body; every /v1 answer, refusals included, carries RateLimit-*. */
async function call(op: Operation, path: string, key: string | null): Promise<Response> {
  const res = await h.call(op.method, path, { key, ...(op.body === undefined ? {} : { body: op.body }) });
  for (const name of RATE_HEADERS) {
    expect(res.headers.get(name), `${op.method} ${path} → ${res.status}: ${name}`).toMatch(/^\d+$/);
  }
  return res;
}

/** The call is refused with this status and code, as the envelope the document declares for it. */
async function expectRefused(op: Operation, path: string, key: string | null, status: number, code: string): Promise<void> {
  const body = await expectError(await call(op, path, key), status, code, { label: `${op.method} ${path}` });
  const declared = checker.problems(op.path, op.method.toLowerCase(), status, body);
  expect(declared, `${op.method} ${op.path} → ${status}, as the document declares it`).toEqual([]);
}

// ---- the suite ------------------------------------------------------------------------------

describe("the routes come from the served document", () => {
  test("it lists every /v1 route the app serves, and no other", () => {
    const served = h.app.routes
      .filter((r) => r.path.startsWith("/v1/"))
      .map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, "{$1}")}`);
    expect(operations.map((op) => `${op.method} ${op.path}`).sort()).toEqual(served.sort());
    expect(operations.length).toBeGreaterThanOrEqual(20);
  });

  test("each states the role it needs", () => {
    expect(operations.filter((op) => op.need === undefined).map((op) => `${op.method} ${op.path}`)).toEqual([]);
  });

  test("each path parameter names a resource this suite can make, one parameter per path", () => {
    for (const op of operations) {
      expect(() => makerFor(op.path), op.path).not.toThrow();
      expect((op.path.match(/\{\w+\}/g) ?? []).length, op.path).toBeLessThanOrEqual(op.path in PATH_MAKERS ? 2 : 1);
    }
  });
});

for (const op of operations) {
  const route = `${op.method} ${op.path}`;
  const weaker = op.need ? weakerThan(op.need) : [];
  const maker = (() => {
    try {
      return makerFor(op.path);
    } catch {
      return undefined; // reported by "each path parameter names a resource…"
    }
  })();
  const namesTenant = typeof op.body === "object" && op.body !== null && "tenant_id" in op.body;

  describe(route, () => {
    test("no credentials, or a key nobody issued → 401", async () => {
      const { path } = await prepare(op);
      await expectRefused(op, path, null, 401, "unauthorized");
      await expectRefused(op, path, "hkl_nobody_issued_this_key_000000", 401, "unauthorized");
    });

    // A viewer route has no weaker credential to try.
    if (weaker.length > 0) {
      test(`a credential below ${op.need} (${weaker.map((w) => `${w.tenant} ${w.role}`).join(", ")}) → 403`, async () => {
        const { path } = await prepare(op);
        for (const w of weaker) await expectRefused(op, path, await keyOf(w.tenant, w.role), 403, "forbidden");
      });
    }

    if (maker && !maker.global) {
      test("another tenant's resource → 404 for that tenant's admin; its own tenant's admin gets through", async () => {
        const { path } = await prepare(op);
        await expectRefused(op, path, await keyOf(B, "admin"), 404, "not_found");
        // The control, last (it may delete): the same call with tenant A's admin is not refused.
        const own = await call(op, path, await keyOf(A, "admin"));
        expect(own.status, `${route} by its own tenant's admin: ${await own.text()}`).toBeLessThan(400);
      });
    }

    if (maker) {
      test("an id or name nobody has → 404, even for the root key", async () => {
        const { unknownPath } = await prepare(op);
        await expectRefused(op, unknownPath, ROOT_KEY, 404, "not_found");
      });
    }

    if (namesTenant && op.need !== "global-admin") {
      test("another tenant's admin naming this tenant in the body → 403", async () => {
        const { path } = await prepare(op);
        await expectRefused(op, path, await keyOf(B, "admin"), 403, "forbidden");
      });
    }
  });
}
