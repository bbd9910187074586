// Where a JSON Schema holds other schemas: enough to find every place a keyword is used (an
// unknown keyword's location, every pattern) without compiling anything.
import { member } from "./messages.ts";

/** Keywords whose value is one schema. */
export const ONE_SCHEMA = new Set([
  "additionalItems", "additionalProperties", "contains", "contentSchema", "else", "if", "items",
  "not", "propertyNames", "then", "unevaluatedItems", "unevaluatedProperties",
]);
/** Keywords whose value is a list of schemas ("items" too, in drafts before 2020-12). */
export const SCHEMA_LISTS = new Set(["allOf", "anyOf", "oneOf", "prefixItems", "items"]);
/** Keywords whose value maps names to schemas. */
export const SCHEMA_MAPS = new Set(["$defs", "definitions", "dependencies", "dependentSchemas", "patternProperties", "properties"]);

type Node = Record<string, unknown>;
type Visit = (node: Node, path: string) => void;

function isNode(value: unknown): value is Node {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

// Paths as the API writes them: "properties.a", "items[0]", "properties[\"x y\"]".
const child = (path: string, key: string): string => member(path, key, false);

/** Calls `visit` on `schema` and on every schema inside it, parents before children. */
export function forEachSubschema(schema: unknown, visit: Visit, path = ""): void {
  if (!isNode(schema)) return;
  visit(schema, path);
  for (const [key, value] of Object.entries(schema)) {
    if (ONE_SCHEMA.has(key) && isNode(value)) forEachSubschema(value, visit, child(path, key));
    if (SCHEMA_LISTS.has(key) && Array.isArray(value)) {
      value.forEach((item, i) => {
        forEachSubschema(item, visit, `${child(path, key)}[${i}]`);
      });
    }
    if (SCHEMA_MAPS.has(key) && isNode(value)) {
      for (const [name, sub] of Object.entries(value)) forEachSubschema(sub, visit, child(child(path, key), name));
    }
  }
}
