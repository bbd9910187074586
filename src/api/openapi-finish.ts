// Turns what @elysiajs/openapi generates from the routes into the document clients generate
// from. The plugin gets three things wrong for us: our own body parser (api/body.ts) hides the
// JSON media type from it, so every request body came out as `content: {}`; `t.Void()` becomes
// `content: {"type":"void"}`, which is not valid OpenAPI 3.1; and every error status repeats an
// inline copy of the envelope. Pure functions over plain JSON, so each rule is table-tested.

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** A route's request body as the route declares it: its JSON Schema (TypeBox is JSON Schema). */
export interface RouteBody {
  method: string;
  /** OpenAPI form: `/v1/webhooks/{id}`. */
  path: string;
  schema: JsonObject;
}

const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
const ERROR_REF: JsonObject = { $ref: "#/components/schemas/Error" };

/** What each error status means in this API (API.md §2, §10). */
export const ERROR_DESCRIPTIONS: Record<string, string> = {
  "400": "bad_request: the body is not valid JSON",
  "401": "unauthorized: credentials missing, unknown, revoked or expired",
  "403": "forbidden: the credential's role is too weak for this call",
  "404": "not_found: no such resource in the caller's tenant (another tenant's is a 404 too)",
  "409": "conflict: the resource's state or another one forbids it (see the message)",
  "413": "payload_too_large: the body is over server.max_body_bytes",
  "415": "unsupported_media_type: the body is not JSON",
  "422": "validation_failed: `errors` lists every problem, each starting with the field's path",
  "429": "rate_limited: over rate_limit.per_minute for this credential; see Retry-After",
  "500": "internal: a bug; the message quotes the request id that the log has",
  "503": "storage_unavailable: the database cannot be written now; see Retry-After",
};

function isObject(v: Json | undefined): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The error statuses every operation of this kind can answer, whatever the route declares. */
export function commonErrorStatuses(op: { method: string; secured: boolean; hasBody: boolean }): string[] {
  const out = ["500"];
  if (op.secured) out.push("401", "403", "429");
  if (op.hasBody) out.push("400", "413", "415", "422");
  // Every write can meet a full disk (API.md §10 "Storage trouble").
  if (op.secured && op.method !== "get") out.push("503");
  return out;
}

/**
 * The requestBody of a route: JSON only (the only type our parser takes), required when the
 * schema requires a field (so an optional body such as rotate-secret's may be left out), and the
 * schema's first `examples` entry as the example that Swagger UI's "Try it out" fills in.
 */
export function requestBodyFor(schema: JsonObject): JsonObject {
  const { examples, ...rest } = schema;
  const media: JsonObject = { schema: rest };
  if (Array.isArray(examples) && examples.length > 0) media.example = examples[0] as Json;
  const required = Array.isArray(schema.required) && schema.required.length > 0;
  return { required, content: { "application/json": media } };
}

/** A response: no content for 204 (or a void schema), the shared envelope for every error. */
export function finishResponse(status: string, response: JsonObject): JsonObject {
  const out: JsonObject = { ...response };
  const content = out.content;
  const isVoid = isObject(content) && content.type === "void";
  if (status === "204" || isVoid) {
    delete out.content;
    if (status === "204") out.description = "Done; no content";
    return out;
  }
  if (Number(status) >= 400) {
    out.description = ERROR_DESCRIPTIONS[status] ?? `Error ${status}`;
    out.content = { "application/json": { schema: ERROR_REF } };
  } else if (isObject(content)) {
    out.content = openSchemas(content) as JsonObject;
  }
  return out;
}

/**
 * Answers are open: a later version may add fields, and a generated client must not reject
 * them. Elysia also closes a response schema (`additionalProperties: false`) when it compiles
 * the route, so without this the document would depend on which routes had been called first.
 */
export function openSchemas(node: Json): Json {
  if (Array.isArray(node)) return node.map(openSchemas);
  if (!isObject(node)) return node;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === "additionalProperties" && v === false) continue;
    out[k] = openSchemas(v);
  }
  return out;
}

/**
 * Elysia's `t.Integer()` accepts numeric strings too (for query coercion), so it comes out as
 * `anyOf: [{type: "string", format: "integer"}, {type: "integer"}]`: every answer holds a JSON
 * integer, and a generated client should type it `number`, not `string | number`.
 */
function isCoercedInteger(node: JsonObject): boolean {
  const any = node.anyOf;
  if (!Array.isArray(any) || any.length !== 2) return false;
  const [str, int] = any;
  return isObject(str) && str.type === "string" && str.format === "integer" && isObject(int) && int.type === "integer";
}

/**
 * `t.Record(t.String(), X)` comes out as `patternProperties: {"^(.*)$": X}`; generators read
 * that as "no known properties". `additionalProperties: X` says the same to all of them.
 */
export function simplifySchemas(node: Json): Json {
  if (Array.isArray(node)) return node.map(simplifySchemas);
  if (!isObject(node)) return node;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(node)) out[k] = simplifySchemas(v);
  if (isCoercedInteger(out)) {
    const { anyOf: _, ...rest } = out;
    return { ...rest, type: "integer" };
  }
  const pp = out.patternProperties;
  if (isObject(pp) && Object.keys(pp).length === 1 && "^(.*)$" in pp && out.additionalProperties === undefined) {
    delete out.patternProperties;
    out.additionalProperties = pp["^(.*)$"] as Json;
  }
  return out;
}

/**
 * Every schema with a `title` moves to components.schemas under that title and is referenced
 * from where it stood, so a generated client names its types (Webhook, Delivery…) instead of
 * repeating anonymous shapes. Two different schemas under one title are a bug in schemas.ts.
 */
export function hoistTitledSchemas(node: Json, into: JsonObject): Json {
  if (Array.isArray(node)) return node.map((n) => hoistTitledSchemas(n, into));
  if (!isObject(node)) return node;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(node)) out[k] = hoistTitledSchemas(v, into);
  const title = out.title;
  if (typeof title !== "string" || !/^[A-Za-z][A-Za-z0-9]*$/.test(title) || out.$ref !== undefined) return out;
  const seen = into[title];
  if (seen !== undefined && JSON.stringify(seen) !== JSON.stringify(out)) {
    throw new Error(`two different schemas are titled ${title}`);
  }
  into[title] = out;
  return { $ref: `#/components/schemas/${title}` };
}

/** The finished document: bodies, responses, errors and named schemas as described above. */
export function finishDocument(doc: JsonObject, bodies: RouteBody[], errorSchema: JsonObject): JsonObject {
  const paths: JsonObject = {};
  for (const [path, item] of Object.entries(isObject(doc.paths) ? doc.paths : {})) {
    if (!isObject(item)) continue;
    const finished: JsonObject = {};
    for (const [method, op] of Object.entries(item)) {
      if (!METHODS.includes(method) || !isObject(op)) {
        finished[method] = op;
        continue;
      }
      finished[method] = finishOperation(path, method, op, bodies);
    }
    paths[path] = finished;
  }
  const components = isObject(doc.components) ? doc.components : {};
  const schemas: JsonObject = { ...(isObject(components.schemas) ? components.schemas : {}), Error: openSchemas(errorSchema) };
  const hoisted = hoistTitledSchemas(simplifySchemas(paths), schemas) as JsonObject;
  return { ...doc, paths: hoisted, components: { ...components, schemas: sortKeys(schemas) } };
}

function finishOperation(path: string, method: string, op: JsonObject, bodies: RouteBody[]): JsonObject {
  const out: JsonObject = { ...op };
  const body = bodies.find((b) => b.method === method && b.path === path);
  if (body) out.requestBody = requestBodyFor(body.schema);
  else delete out.requestBody;
  const secured = Array.isArray(op.security) && op.security.length > 0;
  // Operations without credentials say so, rather than inheriting nothing by accident.
  if (!secured) out.security = [];
  const responses: JsonObject = {};
  const declared: JsonObject = { ...(isObject(op.responses) ? op.responses : {}) };
  for (const status of commonErrorStatuses({ method, secured, hasBody: body !== undefined })) {
    declared[status] ??= { description: "" };
  }
  for (const status of Object.keys(declared).sort()) {
    const r = declared[status];
    if (isObject(r)) responses[status] = finishResponse(status, r);
  }
  out.responses = responses;
  return out;
}

function sortKeys(o: JsonObject): JsonObject {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
