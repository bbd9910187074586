// The OpenAPI document is a contract: valid OpenAPI 3.1, every body declared as JSON with its
// schema and an example, errors as the shared envelope, and the committed openapi.json (and the
// types generated from it) identical to what the code serves — CI fails on drift, as Svix's does.
import { beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Validator } from "@seriousme/openapi-schema-validator";
import type { AnyElysia } from "elysia";
import { buildOpenApiDocument } from "../../src/api/openapi-document.ts";
import { harness } from "../support/harness.ts";
import { generatedTypes, servedDocument } from "../support/openapi.ts";
import { responseChecker } from "../support/openapi-check.ts";

type Op = {
  security?: unknown[];
  description?: string;
  requestBody?: { required?: boolean; content?: Record<string, { schema?: unknown; example?: unknown }> };
  responses?: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }>;
};
type Doc = { paths: Record<string, Record<string, Op>>; components: { schemas: Record<string, unknown> } };

const root = join(import.meta.dir, "..", "..");
let doc: Doc;

function operations(): { path: string; method: string; op: Op }[] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, op]) => ({ path, method, op })),
  );
}

beforeAll(async () => {
  doc = (await servedDocument()) as unknown as Doc;
});

describe("the served OpenAPI document", () => {
  test("is valid OpenAPI 3.1 (checked by an OpenAPI schema validator)", async () => {
    const result = await new Validator().validate(structuredClone(doc) as never);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  test("the validator refuses what the document used to hold (a 204 with content {type: void})", async () => {
    const broken = structuredClone(doc);
    const del = broken.paths["/v1/webhooks/{id}"]?.delete as Op;
    (del.responses as Record<string, unknown>)["204"] = { description: "x", content: { type: "void" } };
    expect((await new Validator().validate(broken as never)).valid).toBe(false);
  });

  test("every POST, PUT and PATCH that takes a body declares application/json with its schema and an example", () => {
    const withBodies = operations().filter(({ op }) => op.requestBody !== undefined);
    expect(withBodies.map(({ method, path }) => `${method} ${path}`).sort()).toEqual(
      [
        "patch /v1/event-types/{name}",
        "patch /v1/webhooks/{id}",
        "post /v1/event-types",
        "post /v1/events",
        "post /v1/keys",
        "post /v1/portal-links",
        "post /v1/webhooks",
        "post /v1/webhooks/{id}/recover",
        "post /v1/webhooks/{id}/replay",
        "post /v1/webhooks/{id}/rotate-secret",
      ].sort(),
    );
    for (const { method, path, op } of withBodies) {
      const media = op.requestBody?.content ?? {};
      expect(Object.keys(media), `${method} ${path}`).toEqual(["application/json"]);
      const json = media["application/json"];
      expect(json?.schema, `${method} ${path}`).toBeDefined();
      expect(json?.example, `${method} ${path}`).toBeDefined();
    }
  });

  test("a body is required exactly when its schema requires a field (rotate-secret's and PATCH bodies are optional)", () => {
    const required = (method: string, path: string) => doc.paths[path]?.[method]?.requestBody?.required;
    expect(required("post", "/v1/webhooks")).toBe(true);
    expect(required("post", "/v1/events")).toBe(true);
    expect(required("post", "/v1/webhooks/{id}/recover")).toBe(true);
    expect(required("post", "/v1/webhooks/{id}/rotate-secret")).toBe(false);
    expect(required("patch", "/v1/webhooks/{id}")).toBe(false);
  });

  test("each example fits its own schema (the browser test sends three of them to the real API)", () => {
    const checker = responseChecker(doc as unknown as Record<string, unknown>);
    for (const { method, path, op } of operations()) {
      const json = op.requestBody?.content?.["application/json"];
      if (json) expect(checker.requestProblems(path, method, json.example), `${method} ${path}`).toEqual([]);
    }
    // The check has teeth: an example without a required field is refused.
    expect(checker.requestProblems("/v1/webhooks", "post", { events: ["*"] })).not.toEqual([]);
  });

  test("204 answers have no content; every error answer references the error envelope", () => {
    for (const { method, path, op } of operations()) {
      for (const [status, response] of Object.entries(op.responses ?? {})) {
        if (status === "204") expect(response.content, `${method} ${path} 204`).toBeUndefined();
        if (Number(status) >= 400) {
          expect(response.content?.["application/json"]?.schema, `${method} ${path} ${status}`).toEqual({
            $ref: "#/components/schemas/Error",
          });
        }
      }
    }
    expect(doc.components.schemas.Error).toMatchObject({ required: ["error", "message"] });
  });

  test("every /v1 operation names its credentials and the role it needs; the others say they need none", () => {
    for (const { method, path, op } of operations()) {
      if (path.startsWith("/v1/")) {
        expect(op.security, `${method} ${path}`).toEqual([{ bearerAuth: [] }, { apiKeyHeader: [] }]);
        expect(op.description, `${method} ${path}`).toMatch(/Requires (role \*\*(viewer|publisher|admin)\*\* or higher|a \*\*global admin\*\* key)/);
        expect(Object.keys(op.responses ?? {}), `${method} ${path}`).toEqual(expect.arrayContaining(["401", "403", "429"]));
      } else {
        expect(op.security, `${method} ${path}`).toEqual([]);
      }
    }
  });

  test("does not depend on which routes were called before it was built", async () => {
    const h = await harness();
    try {
      // Elysia compiles a route on its first call (and closes its response schema then).
      for (const path of ["/healthz", "/readyz", "/v1/webhooks", "/v1/events", "/v1/keys", "/v1/event-types"]) {
        await h.call("GET", path);
      }
      expect(buildOpenApiDocument(h.app as unknown as AnyElysia, h.deps.version)).toEqual(doc as never);
    } finally {
      await h.close();
    }
  });

  test("every operation has a unique operationId that is an identifier (generated clients name methods after it)", () => {
    const ids = operations().map(({ op }) => (op as { operationId?: string }).operationId);
    for (const id of ids) expect(id).toMatch(/^[a-z][A-Za-z]+$/);
    expect(new Set(ids).size).toBe(ids.length);
  });

  test("named shapes are shared components (a generated client gets Webhook, Delivery… types)", () => {
    for (const name of ["Webhook", "CreatedWebhook", "Delivery", "Attempt", "Event", "EventType", "ApiKey", "Error"]) {
      expect(doc.components.schemas, name).toHaveProperty(name);
    }
    const created = doc.paths["/v1/webhooks"]?.post?.responses?.["201"]?.content?.["application/json"]?.schema;
    expect(created).toEqual({ $ref: "#/components/schemas/CreatedWebhook" });
  });
});

describe("the committed contract is what the code serves (run `npm run openapi` after changing the API)", () => {
  test("openapi.json", () => {
    const committed = readFileSync(join(root, "openapi.json"), "utf8");
    expect(committed).toBe(`${JSON.stringify(doc, null, 2)}\n`);
  });

  test("console/src/api/schema.d.ts, the types openapi-typescript generates from it (the console and the generated-client test use them)", async () => {
    const committed = readFileSync(join(root, "console/src/api/schema.d.ts"), "utf8");
    expect(committed).toBe(await generatedTypes(doc as unknown as Record<string, unknown>));
  });
});
