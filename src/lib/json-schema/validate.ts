// JSON Schema for event types (API.md §3): checking that a schema is usable when it is declared,
// and validating published event data against it. Backed by ajv, which compiles each schema to a
// JavaScript function (`new Function`), so compiled validators are cached per event type.
import Ajv2019, { type ErrorObject, MissingRefError, type Options, type ValidateFunction } from "ajv/dist/2019";
import Ajv2020 from "ajv/dist/2020";
import draft7MetaSchema from "ajv/dist/refs/json-schema-draft-07.json";
import addFormats from "ajv-formats";
import { describeErrors, param, pathOf } from "./messages.ts";
import { PatternError, patternProblems, re2RegExp } from "./regexp.ts";
import { forEachSubschema } from "./walk.ts";

type Ajv = Ajv2019 | Ajv2020;
type Dialect = "2019" | "2020";

/** At most this many messages come back from validateData. */
export const MAX_DATA_ERRORS = 50;
/** At most this many compiled validators are kept (one per event type, least recently used dropped). */
export const SCHEMA_CACHE_LIMIT = 500;

const DRAFT_07 = "http://json-schema.org/draft-07/schema";
const DRAFT_2019 = "https://json-schema.org/draft/2019-09/schema";
const DRAFT_2020 = "https://json-schema.org/draft/2020-12/schema";
const DIALECTS = new Map<string, Dialect>([
  [DRAFT_07, "2019"],
  [DRAFT_2019, "2019"],
  [DRAFT_2020, "2020"],
]);

/**
 * - allErrors: every problem is listed, not only the first.
 * - strictSchema "log" (while checking a schema): ajv reports every unknown keyword ("tpye") through
 *   the logger instead of throwing at the first; they are collected as problems. Unknown formats
 *   still throw in this mode and are reported too.
 * - strictTypes/strictTuples/strictRequired off: they refuse ordinary, valid schemas
 *   (`{"required": ["id"]}` without `"type": "object"`), which is not ours to forbid.
 * - ownProperties: `required: ["toString"]` or `properties.constructor` must look at the event's
 *   own keys, not Object.prototype.
 * - validateSchema off on the per-schema instance: the meta-schema check is done once by a shared
 *   checker (compiling a meta-schema costs ~10 ms; a fresh instance without it ~0.5 ms).
 * - no loadSchema: a `$ref` to anything not inside the schema (or the bundled meta-schemas) fails
 *   to compile; nothing is ever fetched.
 * - no coercion, defaults or removeAdditional: validation never changes the event's data.
 * - code.regExp: `pattern` and `patternProperties` run on RE2 (linear time), never on the
 *   backtracking engine a publisher's string could stall (json-schema-regexp.ts).
 */
const BASE_OPTIONS: Options = {
  allErrors: true,
  code: { regExp: re2RegExp },
  strictTypes: false,
  strictTuples: false,
  strictRequired: false,
  ownProperties: true,
  addUsedSchema: false,
};

function newAjv(dialect: Dialect, options: Options): Ajv {
  const ajv = dialect === "2020" ? new Ajv2020(options) : new Ajv2019(options);
  // Ajv2019 understands draft-07 schemas too; it only needs the meta-schema to accept `$schema`.
  if (dialect === "2019") ajv.addMetaSchema(draft7MetaSchema);
  addFormats(ajv);
  return ajv;
}

// Checks schemas against their meta-schema; never compiles a user schema, so nothing of one
// schema (such as an `$id`) can leak into another.
const checkers = new Map<Dialect, Ajv>();
function checker(dialect: Dialect): Ajv {
  let ajv = checkers.get(dialect);
  if (ajv === undefined) {
    ajv = newAjv(dialect, { ...BASE_OPTIONS, strict: false, logger: false });
    checkers.set(dialect, ajv);
  }
  return ajv;
}

// "http://json-schema.org/draft-07/schema#" and the same without "#" are the same dialect.
function dialectOf(schema: Record<string, unknown>): Dialect | undefined {
  const declared = schema.$schema;
  if (declared === undefined) return "2019";
  if (typeof declared !== "string") return undefined;
  return DIALECTS.get(declared.replace(/#$/, ""));
}

// ---------------------------------------------------------------------------------------------
// Checking a schema.

const KEYWORD_HINT = 'e.g. "type", "properties", "required"';

// Optimal string alignment distance: a swap ("tpye") counts as one edit.
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number): number => d[i]?.[j] ?? Number.POSITIVE_INFINITY;
  for (let i = 1; i <= a.length; i++) {
    const row = d[i];
    if (row === undefined) continue;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, at(i - 2, j - 2) + 1);
      }
      row[j] = best;
    }
  }
  return at(a.length, b.length);
}

function closestKeyword(name: string, known: string[]): string | undefined {
  const lower = name.toLowerCase();
  let best: { keyword: string; distance: number } | undefined;
  for (const keyword of known) {
    const distance = keyword.toLowerCase() === lower ? 0 : editDistance(lower, keyword.toLowerCase());
    if (best === undefined || distance < best.distance) best = { keyword, distance };
  }
  // One edit for short names ("tpye"), more for long ones ("additionalProperty").
  const limit = name.length <= 4 ? 1 : Math.max(2, Math.floor(name.length / 4));
  return best !== undefined && best.distance <= limit ? best.keyword : undefined;
}

// Where an unknown keyword sits (ajv's warning does not say); the first five places.
function keywordLocations(schema: unknown, keyword: string): string[] {
  const found: string[] = [];
  forEachSubschema(schema, (node, path) => {
    if (found.length < 5 && Object.hasOwn(node, keyword)) found.push(path);
  });
  return found;
}

function strictProblem(warning: string, schema: Record<string, unknown>, ajv: Ajv): string | undefined {
  const text = warning.replace(/^strict mode: /, "");
  const unknown = /^unknown keyword: "(.*)"$/.exec(text)?.[1];
  if (unknown === undefined) return text;
  // "x-…" keys are the usual vendor extensions (OpenAPI); they are annotations, not typos.
  if (unknown.startsWith("x-")) return undefined;
  const where = [...new Set(keywordLocations(schema, unknown))].filter((p) => p !== "");
  const suggestion = closestKeyword(unknown, Object.keys(ajv.RULES.keywords).filter((k) => k !== "$async" && k !== "id"));
  return [
    `unknown keyword ${JSON.stringify(unknown)}`,
    where.length > 0 ? ` in ${where.join(", ")}` : "",
    suggestion === undefined ? ` (JSON Schema keywords are ${KEYWORD_HINT})` : ` (did you mean ${JSON.stringify(suggestion)}?)`,
  ].join("");
}

function compileProblem(error: unknown): string {
  // patternProblems names each pattern's place first; this is the backstop for one it missed.
  if (error instanceof PatternError) return `a pattern cannot be used: ${error.message}`;
  if (error instanceof MissingRefError) {
    const ref = JSON.stringify(error.missingRef);
    return error.missingRef.startsWith("#")
      ? `$ref ${ref} points to nothing in this schema`
      : `$ref ${ref} cannot be resolved: only references inside the schema (e.g. "#/$defs/name") are supported, other documents are never fetched`;
  }
  const message = error instanceof Error ? error.message : String(error);
  const format = /^unknown format "(.*)" ignored in schema at path "(.*)"$/.exec(message);
  if (format) {
    const at = pathOf("", (format[2] ?? "#").replace(/^#/, ""), undefined).path;
    const known = ["date-time", "date", "time", "duration", "email", "hostname", "ipv4", "ipv6", "uri", "uri-reference", "uuid", "regex"];
    return `unknown format ${JSON.stringify(format[1])}${at === "" ? "" : ` in ${at}`} (known formats include ${known.join(", ")})`;
  }
  return message.replace(/^Invalid regular expression: /, "invalid regular expression: ");
}

/**
 * Meta-schema errors, one line per place. Where the meta-schema offers alternatives (`anyOf`,
 * e.g. `type` is a name or a list of names), a deeper error ("type[1]") says what is wrong;
 * without one, the `enum` of allowed values does, else the types allowed, else the `anyOf` itself.
 */
function metaProblems(errors: ErrorObject[], schema: Record<string, unknown>): string[] {
  const byPlace = new Map<string, ErrorObject[]>();
  for (const e of errors) byPlace.set(e.instancePath, [...(byPlace.get(e.instancePath) ?? []), e]);
  const chosen: ErrorObject[] = [];
  for (const [place, group] of byPlace) {
    const alternatives = group.find((e) => e.keyword === "anyOf" || e.keyword === "oneOf");
    if (alternatives === undefined) chosen.push(...group);
    else if (!errors.some((e) => e.instancePath.startsWith(`${place}/`))) {
      const typeErrors = group.filter((e) => e.keyword === "type");
      const types = [...new Set(typeErrors.flatMap((e) => String(param(e, "type")).split(",")))];
      const firstType = typeErrors[0];
      const anyType = firstType && { ...firstType, params: { type: types.join(",") } };
      chosen.push(group.find((e) => e.keyword === "enum") ?? anyType ?? alternatives);
    }
  }
  return describeErrors(chosen, "", schema);
}

/**
 * Why `schema` is not a usable JSON Schema, as messages without a field prefix (the caller adds
 * "schema: " or "event_types[0].schema: "); empty when it is usable. Drafts 07, 2019-09 (the
 * default without `$schema`) and 2020-12 are understood.
 */
export function schemaProblems(schema: unknown): string[] {
  if (typeof schema !== "object" || schema === null || Array.isArray(schema)) {
    return ["must be a JSON Schema object"];
  }
  const obj = schema as Record<string, unknown>;
  const dialect = dialectOf(obj);
  if (dialect === undefined) {
    return [
      `$schema: ${JSON.stringify(obj.$schema)} is not supported; use "${DRAFT_07}#", "${DRAFT_2019}" or "${DRAFT_2020}", or leave $schema out`,
    ];
  }
  if (obj.$async !== undefined) return ["$async: asynchronous schemas are not supported"];
  try {
    const meta = checker(dialect);
    if (!meta.validateSchema(obj)) return metaProblems(meta.errors ?? [], obj);
  } catch (error) {
    return [compileProblem(error)];
  }
  // Before compiling, which would stop at the first and not say where it is.
  const patterns = patternProblems(obj);
  if (patterns.length > 0) return patterns;
  const warnings: string[] = [];
  const ajv = newAjv(dialect, {
    ...BASE_OPTIONS,
    validateSchema: false,
    strictSchema: "log",
    logger: { log: () => {}, warn: (...args: unknown[]) => warnings.push(args.map(String).join(" ")), error: () => {} },
  });
  try {
    ajv.compile(obj);
  } catch (error) {
    return [compileProblem(error)];
  }
  const problems = warnings.map((w) => strictProblem(w, obj, ajv)).filter((p): p is string => p !== undefined);
  return [...new Set(problems)];
}

// ---------------------------------------------------------------------------------------------
// Validating data.

interface CacheEntry {
  key: string;
  validate: ValidateFunction | undefined;
  problem: string | undefined;
}

// One entry per event type, so an updated schema replaces the old validator; Map order is
// recency (a hit moves the entry to the end), so the first key is the least recently used.
const cache = new Map<string, CacheEntry>();

function compileForData(schema: Record<string, unknown>, key: string): CacheEntry {
  // Lenient: a schema stored before it was checked still validates what it can (unknown
  // keywords and formats are ignored, as ajv does outside strict mode).
  const ajv = newAjv(dialectOf(schema) ?? "2019", { ...BASE_OPTIONS, validateSchema: false, strict: false, logger: false });
  try {
    if (schema.$async !== undefined) throw new Error("$async: asynchronous schemas are not supported");
    return { key, validate: ajv.compile(schema), problem: undefined };
  } catch (error) {
    return { key, validate: undefined, problem: compileProblem(error) };
  }
}

/**
 * Validates an event's `data` against its type's schema: "data.items[2].qty: must be >= 1",
 * "data.member_id: is required", "data.extra: is not allowed"; at most MAX_DATA_ERRORS lines
 * (the last one then says how many more there were). Empty means valid.
 */
export function validateData(typeName: string, schema: Record<string, unknown>, data: unknown): string[] {
  const key = JSON.stringify(schema);
  let entry = cache.get(typeName);
  if (entry?.key !== key) entry = compileForData(schema, key);
  cache.delete(typeName);
  cache.set(typeName, entry);
  while (cache.size > SCHEMA_CACHE_LIMIT) {
    const oldest = cache.keys().next().value;
    if (oldest === undefined) break;
    cache.delete(oldest);
  }
  if (entry.validate === undefined) {
    return [`data: cannot be checked, the schema of event type '${typeName}' is not usable: ${entry.problem ?? "unknown error"}`];
  }
  if (entry.validate(data)) return [];
  const lines = describeErrors(entry.validate.errors ?? [], "data", data);
  if (lines.length <= MAX_DATA_ERRORS) return lines;
  const shown = lines.slice(0, MAX_DATA_ERRORS - 1);
  return [...shown, `data: ${lines.length - shown.length} more problems not listed`];
}

/** How many compiled validators are cached (for tests and metrics). */
export function schemaCacheSize(): number {
  return cache.size;
}

/** Forgets every compiled validator (for tests). */
export function clearSchemaCache(): void {
  cache.clear();
}
