// [[event_types]] entries: catalog entries upserted at start-up (API.md §3).
import { schemaProblems } from "../lib/json-schema/validate.ts";
import { controlCharsError, hasControlCharacters } from "../lib/text.ts";
import { isTable } from "./checks";
import type { Problems } from "./problems";
import type { EventTypeDecl, PayloadFormat } from "./types";

const NAME = /^[a-z0-9_]+(\.[a-z0-9_]+)+$/;
// webhook.test and hookline.* are Hookline's own; a user type there would shadow them.
const RESERVED_PREFIXES = ["webhook.", "hookline."];
const KNOWN_KEYS = new Set(["name", "description", "schema", "payload_format"]);
const PAYLOAD_FORMATS: readonly PayloadFormat[] = ["envelope", "data"];
// The API's wording ("description: must not …") without its field, which Problems prefixes
// with the config path and line.
const CONTROL_PROBLEM = controlCharsError("").slice(": ".length);

// TOML tables have a null prototype and may hold dates; schemas must be plain JSON.
function toJsonObject(table: Record<string, unknown>): Record<string, unknown> {
  return JSON.parse(JSON.stringify(table)) as Record<string, unknown>;
}

// A schema that ajv cannot use would make every publish of the type fail; refuse it at start.
function usable(
  schema: Record<string, unknown>,
  at: string,
  problems: Problems,
): Record<string, unknown> | undefined {
  const found = schemaProblems(schema);
  for (const problem of found) problems.add(at, problem);
  return found.length === 0 ? schema : undefined;
}

function readSchema(
  value: unknown,
  at: string,
  problems: Problems,
): Record<string, unknown> | undefined {
  if (isTable(value)) return usable(toJsonObject(value), at, problems);
  if (typeof value !== "string") {
    problems.add(at, "must be an inline table or a string holding a JSON object");
    return undefined;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (error) {
    problems.add(
      at,
      `is not valid JSON: ${error instanceof Error ? error.message : String(error)}`,
    );
    return undefined;
  }
  if (isTable(parsed)) return usable(parsed, at, problems);
  problems.add(at, 'must be a JSON object, e.g. \'{"type": "object"}\'');
  return undefined;
}

function readName(value: unknown, at: string, problems: Problems): string | undefined {
  if (typeof value !== "string") {
    problems.add(at, value === undefined ? "is required" : "must be a string");
    return undefined;
  }
  if (!NAME.test(value)) {
    problems.add(
      at,
      `"${value}" must be dot-separated segments of a-z, 0-9 and _, e.g. "member.added"`,
    );
    return undefined;
  }
  const reserved = RESERVED_PREFIXES.find((prefix) => value.startsWith(prefix));
  if (reserved !== undefined) {
    problems.add(
      at,
      `"${value}" is reserved: names starting with "${reserved}" belong to Hookline`,
    );
    return undefined;
  }
  return value;
}

export function readEventTypes(value: unknown, problems: Problems): EventTypeDecl[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    problems.add("event_types", "must be a list of tables, written as [[event_types]] sections");
    return [];
  }
  const firstIndex = new Map<string, number>();
  const declared: EventTypeDecl[] = [];
  value.forEach((entry: unknown, index) => {
    const at = `event_types[${index}]`;
    if (!isTable(entry)) {
      problems.add(at, "must be a table with name, description and schema");
      return;
    }
    for (const key of Object.keys(entry)) {
      if (!KNOWN_KEYS.has(key)) problems.add(`${at}.${key}`, "unknown key");
    }
    const name = readName(entry.name, `${at}.name`, problems);
    const first = name === undefined ? undefined : firstIndex.get(name);
    if (name !== undefined && first !== undefined) {
      problems.add(`${at}.name`, `"${name}" is already declared by event_types[${first}]`);
    } else if (name !== undefined) {
      firstIndex.set(name, index);
    }
    const { description = "" } = entry;
    if (typeof description !== "string") problems.add(`${at}.description`, "must be a string");
    else if (hasControlCharacters(description)) problems.add(`${at}.description`, CONTROL_PROBLEM);
    const schema =
      entry.schema === undefined ? undefined : readSchema(entry.schema, `${at}.schema`, problems);
    const format = entry.payload_format;
    const formatOk = format === undefined || PAYLOAD_FORMATS.includes(format as PayloadFormat);
    if (!formatOk) problems.add(`${at}.payload_format`, 'must be "envelope" or "data"');
    if (name === undefined || typeof description !== "string" || !formatOk) return;
    declared.push({
      name,
      description,
      ...(schema === undefined ? {} : { schema }),
      ...(format === undefined ? {} : { payload_format: format as PayloadFormat }),
    });
  });
  return declared;
}
