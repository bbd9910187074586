// The rules that turn the plugin's output into the committed contract, one table each.
import { describe, expect, test } from "bun:test";
import {
  commonErrorStatuses,
  ERROR_DESCRIPTIONS,
  finishResponse,
  hoistTitledSchemas,
  type JsonObject,
  requestBodyFor,
  simplifySchemas,
} from "../../src/api/openapi-finish.ts";

describe("requestBodyFor", () => {
  test.each([
    ["a schema that requires a field: required, example from examples[0]", { type: "object", required: ["url"], examples: [{ url: "u" }, { url: "v" }] }, true, { url: "u" }],
    ["no required field (rotate-secret, PATCH): optional", { type: "object", properties: {}, examples: [{}] }, false, {}],
    ["an empty required list: optional, no example", { type: "object", required: [] }, false, undefined],
  ])("%s", (_, schema, required, example) => {
    const body = requestBodyFor(schema as JsonObject);
    expect(body.required).toBe(required);
    const media = (body.content as JsonObject)["application/json"] as JsonObject;
    expect(media.example).toEqual(example as never);
    expect(media.schema).not.toHaveProperty("examples");
    expect(Object.keys(body.content as JsonObject)).toEqual(["application/json"]);
  });
});

describe("finishResponse", () => {
  const inline = { content: { "application/json": { schema: { title: "Error", type: "object" } } }, description: "x" };
  test.each([
    ["204 loses its content", "204", { description: "x", content: { type: "void" } }, { description: "Done; no content" }],
    ["a void schema on another status loses its content", "200", { description: "x", content: { type: "void" } }, { description: "x" }],
    ["an error references the envelope", "404", inline, { description: ERROR_DESCRIPTIONS["404"] as string, content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } }],
    ["a success keeps its schema", "200", inline, inline],
  ])("%s", (_, status, response, expected) => {
    expect(finishResponse(status, response as JsonObject)).toEqual(expected as never);
  });
});

describe("commonErrorStatuses", () => {
  test.each([
    ["an unauthenticated read", { method: "get", secured: false, hasBody: false }, ["500"]],
    ["an authenticated read", { method: "get", secured: true, hasBody: false }, ["500", "401", "403", "429"]],
    ["a write without body", { method: "delete", secured: true, hasBody: false }, ["500", "401", "403", "429", "503"]],
    ["a write with a body", { method: "post", secured: true, hasBody: true }, ["500", "401", "403", "429", "400", "413", "415", "422", "503"]],
  ])("%s", (_, op, expected) => {
    expect(commonErrorStatuses(op)).toEqual(expected);
  });
});

describe("simplifySchemas", () => {
  test("t.Integer's coercion union is an integer; t.Record is additionalProperties", () => {
    const coerced: JsonObject = { anyOf: [{ format: "integer", default: 0, type: "string" }, { type: "integer" }], description: "n" };
    expect(simplifySchemas(coerced)).toEqual({ description: "n", type: "integer" });
    expect(simplifySchemas({ type: "object", patternProperties: { "^(.*)$": { type: "string" } } })).toEqual({
      type: "object",
      additionalProperties: { type: "string" },
    });
    // Other unions and real patterns are left alone.
    const other = { anyOf: [{ type: "string" }, { type: "null" }], patternProperties: { "^x-": {} } };
    expect(simplifySchemas(other)).toEqual(other);
  });
});

describe("hoistTitledSchemas", () => {
  test("titled schemas become components, nested ones too; two different ones under a title are refused", () => {
    const into: JsonObject = {};
    const inner = { title: "Attempt", type: "object" };
    const out = hoistTitledSchemas({ a: { title: "Delivery", type: "object", properties: { attempts: { type: "array", items: inner } } }, b: inner }, into);
    expect(out).toEqual({ a: { $ref: "#/components/schemas/Delivery" }, b: { $ref: "#/components/schemas/Attempt" } });
    expect(into.Delivery).toEqual({ title: "Delivery", type: "object", properties: { attempts: { type: "array", items: { $ref: "#/components/schemas/Attempt" } } } });
    expect(() => hoistTitledSchemas({ title: "Attempt", type: "string" }, into)).toThrow("two different schemas are titled Attempt");
  });
});
