// src/lib/json-schema/validate.ts: which schemas are usable, and how event data errors are worded.
import { beforeEach, describe, expect, test } from "bun:test";
import {
  clearSchemaCache,
  MAX_DATA_ERRORS,
  SCHEMA_CACHE_LIMIT,
  schemaCacheSize,
  schemaProblems,
  validateData,
} from "../../src/lib/json-schema/validate.ts";

const DRAFT_07 = "http://json-schema.org/draft-07/schema#";
const DRAFT_2019 = "https://json-schema.org/draft/2019-09/schema";
const DRAFT_2020 = "https://json-schema.org/draft/2020-12/schema";

beforeEach(() => clearSchemaCache());

describe("schemaProblems: usable schemas", () => {
  test.each<[string, Record<string, unknown>]>([
    ["empty", {}],
    ["object with required", { type: "object", required: ["id"] }],
    ["required without type", { required: ["id"], properties: { id: { type: "string" } } }],
    ["formats", { properties: { e: { format: "email" }, t: { format: "date-time" }, u: { format: "uri" }, i: { format: "uuid" } } }],
    ["draft-07 with definitions and $ref", { $schema: DRAFT_07, definitions: { id: { type: "string" } }, properties: { id: { $ref: "#/definitions/id" } } }],
    ["draft-07 tuple items", { $schema: DRAFT_07, items: [{ type: "string" }], additionalItems: false }],
    ["draft-07 without #", { $schema: "http://json-schema.org/draft-07/schema", type: "object" }],
    ["2019-09 keywords", { $schema: DRAFT_2019, dependentRequired: { a: ["b"] }, unevaluatedProperties: false }],
    ["2020-12 prefixItems and $defs", { $schema: DRAFT_2020, prefixItems: [{ type: "string" }], $defs: { x: { type: "integer" } } }],
    ["$id and an internal $ref by id", { $id: "https://example.com/member.json", $defs: { a: { $id: "a.json", type: "string" } }, properties: { a: { $ref: "a.json" } } }],
    ["annotations", { title: "T", description: "D", $comment: "c", examples: [{}], default: {}, deprecated: false, readOnly: true }],
    ["vendor extension keys", { type: "object", "x-internal": true, properties: { a: { "x-label": "A" } } }],
    // Parsed, as a literal `then` key would make the object look like a promise to the linter.
    ["if/then/else", JSON.parse('{"if": {"properties": {"kind": {"const": "a"}}}, "then": {"required": ["a"]}, "else": {"required": ["b"]}}')],
    ["boolean subschemas", { properties: { a: true, b: false }, additionalProperties: false }],
  ])("%s", (_name, schema) => {
    expect(schemaProblems(schema)).toEqual([]);
  });

  test("the same $id in two schemas does not clash", () => {
    const a = { $id: "https://example.com/s.json", type: "string" };
    const b = { $id: "https://example.com/s.json", type: "integer" };
    expect(schemaProblems(a)).toEqual([]);
    expect(schemaProblems(b)).toEqual([]);
    expect(validateData("a.one", a, "x")).toEqual([]);
    expect(validateData("b.two", b, 1)).toEqual([]);
    expect(validateData("b.two", b, "x")).toEqual(["data: must be integer"]);
  });
});

describe("schemaProblems: unusable schemas", () => {
  test.each<[string, unknown, string[]]>([
    ["an array", [1], ["must be a JSON Schema object"]],
    ["a string", "{}", ["must be a JSON Schema object"]],
    ["a boolean", true, ["must be a JSON Schema object"]],
    ["a typo at the root", { tpye: "object" }, ['unknown keyword "tpye" (did you mean "type"?)']],
    [
      "typos deeper down, all of them",
      { type: "object", properties: { a: { tpye: "string" }, b: { items: [{ minLenght: 1 }] } } },
      [
        'unknown keyword "tpye" in properties.a (did you mean "type"?)',
        'unknown keyword "minLenght" in properties.b.items[0] (did you mean "minLength"?)',
      ],
    ],
    ["a wrong case", { MinLength: 1 }, ['unknown keyword "MinLength" (did you mean "minLength"?)']],
    ["OpenAPI's example", { example: 1 }, ['unknown keyword "example" (did you mean "examples"?)']],
    ["an unknown type", { type: "strnig" }, ['type: must be one of "array", "boolean", "integer", "null", "number", "object", "string"']],
    ["an unknown type in a list", { type: ["string", "nul"] }, ['type[1]: must be one of "array", "boolean", "integer", "null", "number", "object", "string"']],
    ["a negative minLength", { properties: { x: { minLength: -1 } } }, ["properties.x.minLength: must be >= 0"]],
    ["required not a list", { required: "id" }, ["required: must be array"]],
    ["items not a schema", { items: 5 }, ["items: must be object or boolean or array"]],
    ["2020-12 items as a list", { $schema: DRAFT_2020, items: [{}] }, ["items: must be object or boolean"]],
    ["a missing local $ref", { $ref: "#/definitions/nope" }, ['$ref "#/definitions/nope" points to nothing in this schema']],
    [
      "a remote $ref",
      { $ref: "https://example.com/member.json" },
      ['$ref "https://example.com/member.json" cannot be resolved: only references inside the schema (e.g. "#/$defs/name") are supported, other documents are never fetched'],
    ],
    [
      "a relative $ref against a remote $id",
      { $id: "https://example.com/a.json", $ref: "b.json" },
      ['$ref "https://example.com/b.json" cannot be resolved: only references inside the schema (e.g. "#/$defs/name") are supported, other documents are never fetched'],
    ],
    ["draft-04", { $schema: "http://json-schema.org/draft-04/schema#" }, [expect.stringContaining('$schema: "http://json-schema.org/draft-04/schema#" is not supported')]],
    ["an unknown format", { properties: { e: { type: "string", format: "emial" } } }, [expect.stringMatching(/^unknown format "emial" in properties\.e \(known formats include .*email/)]],
    ["a bad pattern", { pattern: "((" }, ["pattern: invalid regular expression: missing )"]],
    ["an if alone", { if: { type: "string" } }, ['"if" without "then" and "else" is ignored']],
    ["$async", { $async: true }, ["$async: asynchronous schemas are not supported"]],
  ])("%s", (_name, schema, problems) => {
    expect(schemaProblems(schema)).toEqual(problems);
  });
});

describe("validateData: wording", () => {
  const member = {
    type: "object",
    required: ["member_id"],
    additionalProperties: false,
    properties: {
      member_id: { type: "string" },
      email: { type: "string", format: "email" },
      joined_at: { type: "string", format: "date-time" },
      homepage: { type: "string", format: "uri" },
      nickname: { type: ["string", "null"], minLength: 2, maxLength: 4 },
      role: { enum: ["admin", "member"] },
      kind: { const: "person" },
      score: { type: "number", minimum: 0, exclusiveMaximum: 10, multipleOf: 0.5 },
      code: { type: "string", pattern: "^[A-Z]{3}$" },
      tags: { type: "array", uniqueItems: true, maxItems: 3 },
      labels: { type: "object", propertyNames: { pattern: "^[a-z]+$" }, minProperties: 1 },
      items: {
        type: "array",
        minItems: 1,
        items: { type: "object", required: ["sku"], properties: { sku: { type: "string" }, qty: { type: "integer", minimum: 1 } } },
      },
      "display name": { type: "string" },
      contact: { oneOf: [{ required: ["email"] }, { required: ["phone"] }] },
    },
  };

  test.each<[string, unknown, string[]]>([
    ["valid", { member_id: "m1", email: "a@example.com", items: [{ sku: "x", qty: 1 }] }, []],
    ["required", {}, ["data.member_id: is required"]],
    ["type", { member_id: 7 }, ["data.member_id: must be string"]],
    ["type with null allowed", { member_id: "m", nickname: 5 }, ["data.nickname: must be string or null"]],
    ["additionalProperties", { member_id: "m", extra: 1 }, ["data.extra: is not allowed"]],
    ["not an object at all", "hello", ["data: must be object"]],
    ["email", { member_id: "m", email: "nope" }, ["data.email: must be a valid email"]],
    ["date-time", { member_id: "m", joined_at: "yesterday" }, ["data.joined_at: must be a valid date-time"]],
    ["uri", { member_id: "m", homepage: "not a uri" }, ["data.homepage: must be a valid uri"]],
    ["minLength", { member_id: "m", nickname: "a" }, ["data.nickname: must be at least 2 characters long"]],
    ["maxLength", { member_id: "m", nickname: "abcde" }, ["data.nickname: must be at most 4 characters long"]],
    ["enum", { member_id: "m", role: "owner" }, ['data.role: must be one of "admin", "member"']],
    ["const", { member_id: "m", kind: "robot" }, ['data.kind: must be "person"']],
    ["minimum", { member_id: "m", score: -1 }, ["data.score: must be >= 0"]],
    ["exclusiveMaximum", { member_id: "m", score: 10 }, ["data.score: must be < 10"]],
    ["multipleOf", { member_id: "m", score: 0.3 }, ["data.score: must be a multiple of 0.5"]],
    ["pattern", { member_id: "m", code: "ab" }, ['data.code: must match the pattern "^[A-Z]{3}$"']],
    ["uniqueItems", { member_id: "m", tags: ["a", "b", "a"] }, ["data.tags: must not contain duplicates (items 0 and 2 are equal)"]],
    ["maxItems", { member_id: "m", tags: [1, 2, 3, 4] }, ["data.tags: must have at most 3 items"]],
    ["minItems", { member_id: "m", items: [] }, ["data.items: must have at least 1 item"]],
    ["minProperties", { member_id: "m", labels: {} }, ["data.labels: must have at least 1 property"]],
    ["propertyNames", { member_id: "m", labels: { Bad: 1 } }, ['data.labels: property name "Bad" must match the pattern "^[a-z]+$"']],
    ["oneOf matching none", { member_id: "m", contact: {} }, [
      "data.contact.email: is required",
      "data.contact.phone: is required",
      'data.contact: must match exactly one of the "oneOf" schemas, but matches none',
    ]],
    ["oneOf matching two", { member_id: "m", contact: { email: "e", phone: "p" } }, [
      'data.contact: must match exactly one of the "oneOf" schemas, but matches 2 (0 and 1)',
    ]],
    ["a key that is not an identifier", { member_id: "m", "display name": 1 }, ['data["display name"]: must be string']],
    ["nested paths in arrays", { member_id: "m", items: [{ sku: "a", qty: 1 }, { sku: "b" }, { sku: 3, qty: 0 }, {}] }, [
      "data.items[2].sku: must be string",
      "data.items[2].qty: must be >= 1",
      "data.items[3].sku: is required",
    ]],
    ["every problem at once", { member_id: 1, extra: true, email: "x" }, [
      "data.extra: is not allowed",
      "data.member_id: must be string",
      "data.email: must be a valid email",
    ]],
  ])("%s", (_name, data, errors) => {
    expect(validateData("member.added", member, data)).toEqual(errors);
  });

  test("a top-level array: indexes in brackets", () => {
    const schema = { type: "array", items: { type: "object", properties: { n: { type: "integer" } } } };
    expect(validateData("list.sent", schema, [{ n: 1 }, { n: "2" }])).toEqual(["data[1].n: must be integer"]);
  });

  test("an object key made of digits stays a key", () => {
    const schema = { type: "object", properties: { "2": { type: "string" } } };
    expect(validateData("digits.sent", schema, { "2": 5 })).toEqual(['data["2"]: must be string']);
  });

  test("dependentRequired names the missing property", () => {
    const schema = { $schema: DRAFT_2019, dependentRequired: { card: ["billing_address"] } };
    expect(validateData("pay.made", schema, { card: "x" })).toEqual([
      'data.billing_address: is required when "card" is present',
    ]);
  });

  test("contains says it once, without blaming every item", () => {
    const schema = { type: "array", contains: { const: "x" } };
    expect(validateData("c.sent", schema, ["a", "b"])).toEqual([
      'data: must contain at least 1 item matching the "contains" schema',
    ]);
  });

  test("false subschemas and unevaluatedProperties read as 'is not allowed'", () => {
    expect(validateData("f.sent", { properties: { secret: false } }, { secret: 1 })).toEqual(["data.secret: is not allowed"]);
    const schema = { $schema: DRAFT_2020, properties: { a: {} }, unevaluatedProperties: false };
    expect(validateData("u.sent", schema, { a: 1, b: 2 })).toEqual(["data.b: is not allowed"]);
  });

  test("prototype names are checked on the data's own keys", () => {
    const schema = { type: "object", required: ["toString"], properties: { constructor: { type: "string" } } };
    expect(validateData("proto.sent", schema, {})).toEqual(["data.toString: is required"]);
    expect(validateData("proto.sent", schema, { toString: 1, constructor: "c" })).toEqual([]);
  });

  test("draft-07 and 2020-12 tuples follow their own draft", () => {
    const seven = { $schema: DRAFT_07, items: [{ type: "string" }], additionalItems: false };
    expect(validateData("t.seven", seven, ["a", "b"])).toEqual(["data: must have at most 1 item"]);
    const twenty = { $schema: DRAFT_2020, prefixItems: [{ type: "string" }], items: false };
    expect(validateData("t.twenty", twenty, [1, "b"])).toEqual(["data[0]: must be string", "data: must have at most 1 item"]);
  });

  test(`at most ${MAX_DATA_ERRORS} messages, the last one counting the rest`, () => {
    const schema = { type: "array", items: { type: "integer" } };
    const errors = validateData("many.sent", schema, Array.from({ length: 80 }, () => "x"));
    expect(errors).toHaveLength(MAX_DATA_ERRORS);
    expect(errors[0]).toBe("data[0]: must be integer");
    expect(errors[MAX_DATA_ERRORS - 2]).toBe(`data[${MAX_DATA_ERRORS - 2}]: must be integer`);
    expect(errors[MAX_DATA_ERRORS - 1]).toBe(`data: ${80 - (MAX_DATA_ERRORS - 1)} more problems not listed`);
    expect(validateData("many.sent", schema, Array.from({ length: MAX_DATA_ERRORS }, () => "x"))).toHaveLength(MAX_DATA_ERRORS);
  });

  test("the data is never changed", () => {
    const schema = { properties: { a: { type: "integer", default: 5 }, b: { type: "integer" } }, additionalProperties: false };
    const data = { b: "1", c: 1 };
    validateData("d.sent", schema, data);
    expect(data).toEqual({ b: "1", c: 1 });
  });
});

describe("validateData: compiled validators", () => {
  test("an updated schema of the same type is recompiled", () => {
    expect(validateData("member.added", { required: ["a"] }, {})).toEqual(["data.a: is required"]);
    expect(validateData("member.added", { required: ["a"] }, { a: 1 })).toEqual([]);
    expect(schemaCacheSize()).toBe(1);
    expect(validateData("member.added", { required: ["b"] }, { a: 1 })).toEqual(["data.b: is required"]);
    expect(schemaCacheSize()).toBe(1);
  });

  test("two types with the same schema text are cached apart", () => {
    const schema = { type: "string" };
    expect(validateData("a.one", schema, 1)).toEqual(["data: must be string"]);
    expect(validateData("b.two", schema, "s")).toEqual([]);
    expect(schemaCacheSize()).toBe(2);
  });

  test(`the cache keeps at most ${SCHEMA_CACHE_LIMIT} validators, dropping the least recently used`, () => {
    validateData("keep.me", { type: "integer" }, 1);
    for (let i = 0; i < SCHEMA_CACHE_LIMIT + 20; i++) {
      validateData(`type.n${i}`, { const: i }, i);
      if (i % 100 === 0) validateData("keep.me", { type: "integer" }, 1);
    }
    expect(schemaCacheSize()).toBe(SCHEMA_CACHE_LIMIT);
    // Still right after eviction: a dropped type simply compiles again.
    expect(validateData("type.n0", { const: 0 }, 1)).toEqual(["data: must be 0"]);
  });

  test("a stored schema that predates the checks: unknown keywords are ignored", () => {
    expect(validateData("old.type", { tpye: "string", required: ["a"] }, {})).toEqual(["data.a: is required"]);
  });

  test("a schema that cannot compile is a message, not an exception", () => {
    expect(validateData("broken.type", { $ref: "https://example.com/x.json" }, {})).toEqual([
      expect.stringMatching(/^data: cannot be checked, the schema of event type 'broken\.type' is not usable: \$ref/),
    ]);
  });
});
