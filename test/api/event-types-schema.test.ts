// Event type schemas must be usable JSON Schemas (API.md §3): refused with 422 on the API and as
// a config problem in [[event_types]].
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../src/config/load.ts";
import { configProblems } from "../support/config-problems.ts";
import { expectInvalid } from "../support/expect-error.ts";
import { freshHarnessPerTest } from "../support/fixtures.ts";

interface Json {
  [key: string]: unknown;
  error?: string;
  errors?: string[];
  schema?: unknown;
}

const setup = freshHarnessPerTest();

async function json(res: Response): Promise<Json> {
  return (await res.json()) as Json;
}

describe("POST /v1/event-types with a schema", () => {
  test("a usable schema → 201, stored as sent", async () => {
    const hh = await setup();
    const schema = {
      $schema: "http://json-schema.org/draft-07/schema#",
      type: "object",
      required: ["member_id"],
      properties: { member_id: { type: "string" }, email: { type: "string", format: "email" } },
    };
    const res = await hh.call("POST", "/v1/event-types", { body: { name: "member.added", schema } });
    expect(res.status).toBe(201);
    expect((await json(res)).schema).toEqual(schema);
  });

  test("a typo → 422 naming schema, with the suggestion", async () => {
    const hh = await setup();
    const res = await hh.call("POST", "/v1/event-types", {
      body: { name: "member.added", schema: { tpye: "object" } },
    });
    expect(await expectInvalid(res)).toEqual(['schema: unknown keyword "tpye" (did you mean "type"?)']);
    const list = await json(await hh.call("GET", "/v1/event-types"));
    expect(JSON.stringify(list)).not.toContain("member.added");
  });

  test("every problem is listed, each naming schema", async () => {
    const hh = await setup();
    const res = await hh.call("POST", "/v1/event-types", {
      body: { name: "member.added", schema: { type: "object", properties: { a: { type: "strnig" }, b: { minLength: -1 } } } },
    });
    expect(await expectInvalid(res)).toEqual([
      'schema: properties.a.type: must be one of "array", "boolean", "integer", "null", "number", "object", "string"',
      "schema: properties.b.minLength: must be >= 0",
    ]);
  });

  test.each<[string, unknown]>([
    ["a remote $ref", { $ref: "https://example.com/member.json" }],
    ["an unsupported $schema", { $schema: "http://json-schema.org/draft-04/schema#" }],
    ["an unknown format", { type: "string", format: "emial" }],
    ["not an object", [{ type: "object" }]],
  ])("%s → 422 naming schema", async (_name, schema) => {
    const hh = await setup();
    const res = await hh.call("POST", "/v1/event-types", { body: { name: "member.added", schema } });
    const errors = await expectInvalid(res);
    expect(errors.length).toBeGreaterThan(0);
    for (const e of errors) expect(e).toStartWith("schema: ");
  });
});

describe("PATCH /v1/event-types/{name} with a schema", () => {
  test("an unusable schema → 422 naming schema, and the stored schema is kept", async () => {
    const hh = await setup();
    const schema = { type: "object", required: ["id"] };
    expect((await hh.call("POST", "/v1/event-types", { body: { name: "member.added", schema } })).status).toBe(201);

    const res = await hh.call("PATCH", "/v1/event-types/member.added", {
      body: { schema: { type: "object", properties: { id: { type: "string", minLenght: 1 } } } },
    });
    expect(await expectInvalid(res)).toEqual([
      'schema: unknown keyword "minLenght" in properties.id (did you mean "minLength"?)',
    ]);

    const list = (await json(await hh.call("GET", "/v1/event-types"))).data as Json[];
    expect(list.find((t) => t.name === "member.added")?.schema).toEqual(schema);
  });

  test("a usable schema → 200; null still removes it", async () => {
    const hh = await setup();
    expect((await hh.call("POST", "/v1/event-types", { body: { name: "member.added" } })).status).toBe(201);
    const schema = { $schema: "https://json-schema.org/draft/2020-12/schema", prefixItems: [{ type: "string" }] };
    const res = await hh.call("PATCH", "/v1/event-types/member.added", { body: { schema } });
    expect(res.status).toBe(200);
    expect((await json(res)).schema).toEqual(schema);
    const cleared = await hh.call("PATCH", "/v1/event-types/member.added", { body: { schema: null } });
    expect(cleared.status).toBe(200);
  });
});

describe("[[event_types]] schema in the config file", () => {
  const dir = mkdtempSync(join(tmpdir(), "hookline-schema-config-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("an inline table with a typo → ConfigError naming event_types[0].schema and its line", () => {
    const problems = configProblems(
      ['[auth]', 'root_key = "root-key-0123456789abcdef"', "", "[[event_types]]", 'name = "member.added"', 'schema = { tpye = "object" }', ""].join("\n"),
    );
    expect(problems).toEqual(['event_types[0].schema: unknown keyword "tpye" (did you mean "type"?) (line 6)']);
  });

  test("a JSON string and a sub-table: every problem of every entry", () => {
    const problems = configProblems(
      [
        "[[event_types]]",
        'name = "member.added"',
        `schema = '{"$ref": "https://example.com/member.json"}'`,
        "",
        "[[event_types]]",
        'name = "invoice.paid"',
        "[event_types.schema]",
        'type = "object"',
        "required = [\"id\"]",
        'properties = { id = { type = "strnig" } }',
        "",
      ].join("\n"),
    );
    expect(problems).toContain(
      'event_types[0].schema: $ref "https://example.com/member.json" cannot be resolved: only references inside the schema (e.g. "#/$defs/name") are supported, other documents are never fetched (line 3)',
    );
    expect(problems).toContain(
      'event_types[1].schema: properties.id.type: must be one of "array", "boolean", "integer", "null", "number", "object", "string" (line 7)',
    );
  });

  test("a usable schema loads", () => {
    const path = join(dir, "hookline.toml");
    writeFileSync(path, '[[event_types]]\nname = "member.added"\nschema = { type = "object", properties = { email = { type = "string", format = "email" } } }\n');
    const config = loadConfig({ path, env: {} });
    expect(config.event_types[0]?.schema).toEqual({
      type: "object",
      properties: { email: { type: "string", format: "email" } },
    });
  });
});
