// /v1/event-types (API.md §3, §10): the catalog, who may change it, and how archiving and the
// config-declared types behave.
import { afterEach, describe, expect, test } from "bun:test";
import type { Clock } from "../../src/domain/clock.ts";
import { upsertDeclaredEventTypes } from "../../src/domain/event-types.ts";
import { expectError, expectInvalid } from "../support/expect-error.ts";
import { type Harness, harness } from "../support/harness.ts";

const BUILTINS = [
  "webhook.test",
  "hookline.webhook.disabled",
  "hookline.delivery.exhausted",
  "hookline.webhook.recovered",
];

const ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/** A parsed JSON response: the fields these tests read, loosely typed. */
interface Json {
  [key: string]: unknown;
  name?: string;
  description?: string;
  archived?: boolean;
  builtin?: boolean;
  created_at?: string;
  error?: string;
  errors?: string[];
  data?: Json[];
  id?: string;
  events?: string[];
}

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function setup(...args: Parameters<typeof harness>): Promise<Harness> {
  h = await harness(...args);
  return h;
}

async function json(res: Response): Promise<Json> {
  return (await res.json()) as Json;
}

async function createType(hh: Harness, body: Json): Promise<Json> {
  const res = await hh.call("POST", "/v1/event-types", { body });
  expect(res.status).toBe(201);
  return json(res);
}

async function listTypes(hh: Harness, key?: string): Promise<Json[]> {
  const res = await hh.call("GET", "/v1/event-types", key === undefined ? {} : { key });
  expect(res.status).toBe(200);
  const body = await json(res);
  expect(Object.keys(body)).toEqual(["data"]);
  return body.data as Json[];
}

/** A clock the test moves by hand. */
function manualClock(start = Date.parse("2030-01-01T00:00:00Z")): Clock & { set(ms: number): void } {
  let now = start;
  return { now: () => now, set: (ms) => (now = ms) };
}

describe("GET /v1/event-types", () => {
  test("lists the built-in webhook.test and stored types, to any role", async () => {
    const hh = await setup();
    await createType(hh, { name: "member.added", description: "A member joined" });
    const viewer = await hh.key("acme", "viewer");
    const data = await listTypes(hh, viewer);
    const builtin = data.find((t) => t.name === "webhook.test");
    expect(builtin).toMatchObject({ name: "webhook.test", builtin: true, archived: false });
    expect(builtin?.created_at).toMatch(ISO_RE);
    const stored = data.find((t) => t.name === "member.added");
    expect(stored).toMatchObject({ description: "A member joined", builtin: false, archived: false });
    // The built-in types (webhook.test and Hookline's operational events) plus the stored one.
    expect(data.filter((t) => t.builtin).map((t) => t.name)).toEqual(BUILTINS);
    expect(data).toHaveLength(BUILTINS.length + 1);
  });

  test("needs credentials", async () => {
    const hh = await setup();
    const res = await hh.call("GET", "/v1/event-types", { key: null });
    expect(res.status).toBe(401);
  });
});

describe("POST /v1/event-types", () => {
  test("a global admin creates a type: 201 with the full shape", async () => {
    const clock = manualClock(Date.parse("2031-05-06T07:08:09.010Z"));
    const hh = await setup({}, { clock });
    const schema = { type: "object", required: ["id"] };
    const res = await hh.call("POST", "/v1/event-types", {
      body: { name: "member.added", description: "A member joined", schema },
    });
    expect(res.status).toBe(201);
    expect(await json(res)).toEqual({
      name: "member.added",
      description: "A member joined",
      schema,
      payload_format: "envelope",
      archived: false,
      builtin: false,
      created_at: "2031-05-06T07:08:09.010Z",
    });
    // Without a schema the key is absent, and description defaults to "".
    const bare = await createType(hh, { name: "member.removed" });
    expect(bare).toEqual({
      name: "member.removed",
      description: "",
      payload_format: "envelope",
      archived: false,
      builtin: false,
      created_at: "2031-05-06T07:08:09.010Z",
    });
    expect("schema" in bare).toBe(false);
    expect((await listTypes(hh)).map((t) => t.name).sort()).toEqual(
      [...BUILTINS, "member.added", "member.removed"].sort(),
    );
  });

  test("a tenant admin is forbidden", async () => {
    const hh = await setup();
    const admin = await hh.key("acme", "admin");
    const res = await hh.call("POST", "/v1/event-types", { key: admin, body: { name: "member.added" } });
    await expectError(res, 403, "forbidden");
    expect((await listTypes(hh)).map((t) => t.name)).toEqual(BUILTINS);
  });

  test("a tenant admin sending an invalid body still gets 403, not 422 (403 comes before 422)", async () => {
    const hh = await setup();
    const admin = await hh.key("acme", "admin");
    const res = await hh.call("POST", "/v1/event-types", { key: admin, body: { name: "Not A Name" } });
    expect(res.status).toBe(403);
    const patch = await hh.call("PATCH", "/v1/event-types/member.added", { key: admin, body: { archived: "yes" } });
    expect(patch.status).toBe(403);
  });

  test.each(["member", "Member.Added", "member..added", ".member", "member.added.", "member-x.added", "mémber.added", ""])(
    "a bad name %p → 422 naming name",
    async (name) => {
      const hh = await setup();
      const res = await hh.call("POST", "/v1/event-types", { body: { name } });
      await expectInvalid(res, "name");
    },
  );

  test("a missing name → 422 naming name", async () => {
    const hh = await setup();
    const res = await hh.call("POST", "/v1/event-types", { body: { description: "x" } });
    await expectInvalid(res, "name");
  });

  test.each(["webhook.custom", "webhook.test", "hookline.webhook_disabled"])("reserved name %p → 422", async (name) => {
    const hh = await setup();
    const res = await hh.call("POST", "/v1/event-types", { body: { name } });
    const errors = await expectInvalid(res, "name");
    expect(errors.join(" ")).toContain("reserved");
  });

  test("a description over 1000 characters → 422 naming description", async () => {
    const hh = await setup();
    const res = await hh.call("POST", "/v1/event-types", { body: { name: "a.b", description: "x".repeat(1001) } });
    await expectInvalid(res, "description");
  });

  test("a duplicate name → 409 and the first one is unchanged", async () => {
    const hh = await setup();
    await createType(hh, { name: "member.added", description: "first" });
    const res = await hh.call("POST", "/v1/event-types", { body: { name: "member.added", description: "second" } });
    await expectError(res, 409, "conflict");
    const stored = (await listTypes(hh)).find((t) => t.name === "member.added");
    expect(stored?.description).toBe("first");
  });
});

describe("PATCH and DELETE /v1/event-types/{name}", () => {
  test("PATCH changes description and schema → 200, persisted; schema null removes it", async () => {
    const hh = await setup();
    const created = await createType(hh, { name: "member.added", description: "old" });
    const schema = { type: "object", properties: { id: { type: "string" } } };
    const res = await hh.call("PATCH", "/v1/event-types/member.added", { body: { description: "new", schema } });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ ...created, description: "new", schema });
    expect((await listTypes(hh)).find((t) => t.name === "member.added")).toEqual({ ...created, description: "new", schema });

    const cleared = await json(await hh.call("PATCH", "/v1/event-types/member.added", { body: { schema: null } }));
    expect("schema" in cleared).toBe(false);
    expect(cleared.description).toBe("new");
  });

  test("PATCH of an unknown name → 404; of the built-in type → 422", async () => {
    const hh = await setup();
    const res = await hh.call("PATCH", "/v1/event-types/nope.nope", { body: { description: "x" } });
    await expectError(res, 404, "not_found");
    const builtin = await hh.call("PATCH", "/v1/event-types/webhook.test", { body: { description: "x" } });
    expect(builtin.status).toBe(422);
  });

  test("PATCH by a tenant admin → 403; DELETE by a tenant admin → 403 and nothing archived", async () => {
    const hh = await setup();
    await createType(hh, { name: "member.added" });
    const admin = await hh.key("acme", "admin");
    expect((await hh.call("PATCH", "/v1/event-types/member.added", { key: admin, body: { description: "x" } })).status).toBe(403);
    expect((await hh.call("DELETE", "/v1/event-types/member.added", { key: admin })).status).toBe(403);
    expect((await listTypes(hh)).find((t) => t.name === "member.added")).toMatchObject({ description: "", archived: false });
  });

  test("DELETE archives (204) and GET shows archived: true; unknown → 404", async () => {
    const hh = await setup();
    await createType(hh, { name: "member.added" });
    const res = await hh.call("DELETE", "/v1/event-types/member.added");
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");
    expect((await listTypes(hh)).find((t) => t.name === "member.added")?.archived).toBe(true);
    expect((await hh.call("DELETE", "/v1/event-types/nope.nope")).status).toBe(404);
  });

  test("an archived type cannot be subscribed to, but existing subscriptions keep it", async () => {
    const hh = await setup();
    await createType(hh, { name: "member.added" });
    const before = await hh.call("POST", "/v1/webhooks", {
      body: { tenant_id: "acme", url: "https://a.example.com/hook", events: ["member.added"] },
    });
    expect(before.status).toBe(201);
    const hook = await json(before);

    expect((await hh.call("DELETE", "/v1/event-types/member.added")).status).toBe(204);

    const res = await hh.call("POST", "/v1/webhooks", {
      body: { tenant_id: "acme", url: "https://b.example.com/hook", events: ["member.added"] },
    });
    const errors = await expectInvalid(res, "events[0]");
    expect(errors.join(" ")).toContain("archived");

    const patch = await hh.call("PATCH", `/v1/webhooks/${hook.id}`, { body: { events: ["member.added"] } });
    expect(patch.status).toBe(422);

    const kept = await json(await hh.call("GET", `/v1/webhooks/${hook.id}`));
    expect(kept.events).toEqual(["member.added"]);
    // Other changes to that webhook still work while it holds the archived type.
    const desc = await hh.call("PATCH", `/v1/webhooks/${hook.id}`, { body: { description: "still here" } });
    expect(desc.status).toBe(200);
    expect((await json(desc)).events).toEqual(["member.added"]);
    // Wildcards need no live type.
    const wildcard = await hh.call("POST", "/v1/webhooks", {
      body: { tenant_id: "acme", url: "https://c.example.com/hook", events: ["member.*"] },
    });
    expect(wildcard.status).toBe(201);
  });

  test("PATCH archived: false un-archives, and the type can be subscribed to again", async () => {
    const hh = await setup();
    await createType(hh, { name: "member.added" });
    expect((await hh.call("DELETE", "/v1/event-types/member.added")).status).toBe(204);
    const res = await hh.call("PATCH", "/v1/event-types/member.added", { body: { archived: false } });
    expect(res.status).toBe(200);
    expect((await json(res)).archived).toBe(false);
    expect((await listTypes(hh)).find((t) => t.name === "member.added")?.archived).toBe(false);
    const hook = await hh.call("POST", "/v1/webhooks", {
      body: { tenant_id: "acme", url: "https://a.example.com/hook", events: ["member.added"] },
    });
    expect(hook.status).toBe(201);
  });

  test("PATCH with a wrong type or an unknown field → 422 naming it", async () => {
    const hh = await setup();
    await createType(hh, { name: "member.added" });
    const bad = await hh.call("PATCH", "/v1/event-types/member.added", { body: { archived: "yes" } });
    await expectInvalid(bad, "archived");
    const extra = await hh.call("PATCH", "/v1/event-types/member.added", { body: { colour: "red" } });
    await expectInvalid(extra, "colour");
  });
});

describe("config-declared event types", () => {
  test("upsertDeclaredEventTypes creates them, and re-running un-archives and updates them", async () => {
    const clock = manualClock(Date.parse("2030-01-01T00:00:00Z"));
    const hh = await setup(
      {
        event_types: [
          { name: "invoice.paid", description: "Paid", schema: { type: "object" } },
          { name: "invoice.voided", description: "Voided" },
        ],
      },
      { clock },
    );
    expect(await upsertDeclaredEventTypes(hh.deps)).toBe(2);
    let types = await listTypes(hh);
    expect(types.find((t) => t.name === "invoice.paid")).toEqual({
      name: "invoice.paid",
      description: "Paid",
      schema: { type: "object" },
      payload_format: "envelope",
      archived: false,
      builtin: false,
      created_at: "2030-01-01T00:00:00.000Z",
    });
    expect(types.find((t) => t.name === "invoice.voided")?.description).toBe("Voided");

    // The operator archives one through the API, then edits the file and restarts.
    expect((await hh.call("DELETE", "/v1/event-types/invoice.paid")).status).toBe(204);
    hh.deps.config.event_types = [{ name: "invoice.paid", description: "Paid in full" }];
    clock.set(Date.parse("2030-02-01T00:00:00Z"));
    expect(await upsertDeclaredEventTypes(hh.deps)).toBe(1);

    types = await listTypes(hh);
    const paid = types.find((t) => t.name === "invoice.paid");
    expect(paid).toMatchObject({ description: "Paid in full", archived: false });
    // Its creation time is kept; the schema follows the file (now none).
    expect(paid?.created_at).toBe("2030-01-01T00:00:00.000Z");
    expect(paid && "schema" in paid).toBe(false);
    // A type no longer in the file is left alone.
    expect(types.find((t) => t.name === "invoice.voided")).toMatchObject({ description: "Voided", archived: false });
  });

  test("a declared type can be subscribed to; with no declarations nothing is stored", async () => {
    const hh = await setup({ event_types: [{ name: "member.added", description: "d" }] });
    const before = await hh.call("POST", "/v1/webhooks", {
      body: { tenant_id: "acme", url: "https://a.example.com/hook", events: ["member.added"] },
    });
    expect(before.status).toBe(422);
    await upsertDeclaredEventTypes(hh.deps);
    const after = await hh.call("POST", "/v1/webhooks", {
      body: { tenant_id: "acme", url: "https://a.example.com/hook", events: ["member.added"] },
    });
    expect(after.status).toBe(201);

    const empty = await harness();
    try {
      expect(await upsertDeclaredEventTypes(empty.deps)).toBe(0);
      expect((await json(await empty.call("GET", "/v1/event-types"))).data).toHaveLength(BUILTINS.length);
    } finally {
      await empty.close();
    }
  });
});
