// ajv's validation errors in the API's words (API.md §3): JSON pointers become the paths the API
// writes ("/items/2/qty" → "data.items[2].qty") and each keyword gets a sentence.
import type { ErrorObject } from "ajv/dist/2019";

// ---------------------------------------------------------------------------------------------
// Paths: ajv's JSON pointers ("/items/2/qty") as the API writes them ("data.items[2].qty").

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

export function member(path: string, key: string, inArray: boolean): string {
  if (inArray && /^\d+$/.test(key)) return `${path}[${key}]`;
  if (!IDENTIFIER.test(key)) return `${path}[${JSON.stringify(key)}]`;
  return path === "" ? key : `${path}.${key}`;
}

function childOf(value: unknown, key: string): unknown {
  if (typeof value !== "object" || value === null) return undefined;
  return (value as Record<string, unknown>)[key];
}

/** Follows `pointer` through `root` (to tell array indexes from keys) and writes it from `base`. */
export function pathOf(base: string, pointer: string, root: unknown): { path: string; value: unknown } {
  let path = base;
  let value = root;
  if (pointer === "") return { path, value };
  for (const raw of pointer.slice(1).split("/")) {
    const key = raw.replaceAll("~1", "/").replaceAll("~0", "~");
    path = member(path, key, Array.isArray(value));
    value = childOf(value, key);
  }
  return { path, value };
}

// ---------------------------------------------------------------------------------------------
// Messages: ajv's errors in the API's words.

function plural(n: unknown, word: string, words = `${word}s`): string {
  return `${String(n)} ${n === 1 ? word : words}`;
}

function listValues(values: unknown): string {
  const all = Array.isArray(values) ? values : [];
  const shown = all.slice(0, 10).map((v) => JSON.stringify(v));
  return all.length > shown.length ? `${shown.join(", ")}, … (${all.length} in all)` : shown.join(", ");
}

export function param(e: ErrorObject, name: string): unknown {
  return (e.params as Record<string, unknown>)[name];
}

/** The message for `e`, and the property it is about when that is below e.instancePath. */
function phrase(e: ErrorObject): { child?: string; message: string } {
  const p = (name: string): unknown => param(e, name);
  switch (e.keyword) {
    case "required":
      return { child: String(p("missingProperty")), message: "is required" };
    case "dependentRequired":
    case "dependencies":
      return {
        child: String(p("missingProperty")),
        message: `is required when ${JSON.stringify(p("property"))} is present`,
      };
    case "additionalProperties":
      return { child: String(p("additionalProperty")), message: "is not allowed" };
    case "unevaluatedProperties":
      return { child: String(p("unevaluatedProperty")), message: "is not allowed" };
    case "false schema":
      return { message: "is not allowed" };
    case "type":
      return { message: `must be ${String(p("type")).split(",").join(" or ")}` };
    case "enum":
      return { message: `must be one of ${listValues(p("allowedValues"))}` };
    case "const":
      return { message: `must be ${JSON.stringify(p("allowedValue"))}` };
    case "minimum":
    case "maximum":
    case "exclusiveMinimum":
    case "exclusiveMaximum":
    case "formatMinimum":
    case "formatMaximum":
    case "formatExclusiveMinimum":
    case "formatExclusiveMaximum":
      return { message: `must be ${String(p("comparison"))} ${JSON.stringify(p("limit"))}` };
    case "multipleOf":
      return { message: `must be a multiple of ${String(p("multipleOf"))}` };
    case "minLength":
      return { message: `must be at least ${plural(p("limit"), "character")} long` };
    case "maxLength":
      return { message: `must be at most ${plural(p("limit"), "character")} long` };
    case "minItems":
      return { message: `must have at least ${plural(p("limit"), "item")}` };
    case "maxItems":
    case "additionalItems":
    case "items": // 2020-12 `items: false` after `prefixItems`
      return { message: `must have at most ${plural(p("limit"), "item")}` };
    case "unevaluatedItems":
      return { message: `must have at most ${plural(p("len"), "item")}` };
    case "minProperties":
      return { message: `must have at least ${plural(p("limit"), "property", "properties")}` };
    case "maxProperties":
      return { message: `must have at most ${plural(p("limit"), "property", "properties")}` };
    case "pattern":
      return { message: `must match the pattern ${JSON.stringify(p("pattern"))}` };
    case "format":
      return { message: `must be a valid ${String(p("format"))}` };
    case "uniqueItems": {
      const [a, b] = [Number(p("i")), Number(p("j"))].sort((x, y) => x - y);
      return { message: `must not contain duplicates (items ${a} and ${b} are equal)` };
    }
    case "contains": {
      const min = p("minContains");
      const max = p("maxContains");
      return {
        message:
          max === undefined
            ? `must contain at least ${plural(min, "item")} matching the "contains" schema`
            : `must contain ${String(min)} to ${String(max)} items matching the "contains" schema`,
      };
    }
    case "anyOf":
      return { message: 'must match at least one of the "anyOf" schemas' };
    case "oneOf": {
      const passing = p("passingSchemas");
      return {
        message: Array.isArray(passing)
          ? `must match exactly one of the "oneOf" schemas, but matches ${passing.length} (${passing.join(" and ")})`
          : 'must match exactly one of the "oneOf" schemas, but matches none',
      };
    }
    case "not":
      return { message: 'must not match the "not" schema' };
    case "if":
      return { message: `must match the ${JSON.stringify(p("failingKeyword"))} schema` };
    case "propertyNames":
      return { message: `has an invalid property name ${JSON.stringify(p("propertyName"))}` };
    default:
      return { message: e.message ?? `is not valid (${e.keyword})` };
  }
}

/** ajv's errors as "path: message" lines, with the noise of sub-schemas that only feed a summary dropped. */
export function describeErrors(errors: ErrorObject[], base: string, root: unknown): string[] {
  // Items that fail a `contains` schema are not wrong themselves; the `contains` error says it all.
  const kept = errors.filter((e) => !/\/contains\//.test(e.schemaPath));
  const namesExplained = new Set(
    kept.filter((e) => e.propertyName !== undefined).map((e) => `${e.instancePath}\n${e.propertyName}`),
  );
  const lines: string[] = [];
  for (const e of kept) {
    if (e.keyword === "propertyNames" && namesExplained.has(`${e.instancePath}\n${String(param(e, "propertyName"))}`)) {
      continue;
    }
    const { path, value } = pathOf(base, e.instancePath, root);
    const { child, message } = phrase(e);
    const at = child === undefined ? path : member(path, child, Array.isArray(value));
    const text = e.propertyName === undefined ? message : `property name ${JSON.stringify(e.propertyName)} ${message}`;
    lines.push(at === "" ? text : `${at}: ${text}`);
  }
  return [...new Set(lines)];
}
