// Type and range checks for one value, driven by its Kind. Each returns the typed value, or
// undefined after reporting why the value was refused.
import { formatDuration, parseDuration } from "../lib/duration.ts";
import type { Problems } from "./problems";
import type { Kind } from "./schema";

export type Table = Record<string, unknown>;

export function isTable(value: unknown): value is Table {
  return (
    typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Date)
  );
}

const DURATION_HELP = 'use an integer with ms, s, m, h or d, e.g. "15s"';

function quoteList(values: readonly string[]): string {
  const quoted = values.map((value) => `"${value}"`);
  const last = quoted.pop();
  return quoted.length === 0 ? `${last}` : `${quoted.join(", ")} or ${last}`;
}

function checkDuration(
  value: unknown,
  path: string,
  kind: Kind,
  problems: Problems,
): number | undefined {
  if (typeof value !== "string") {
    problems.add(path, `must be a duration string; ${DURATION_HELP}`);
    return undefined;
  }
  const ms = parseDuration(value);
  if (ms === undefined) {
    problems.add(path, `"${value}" is not a duration; ${DURATION_HELP}`);
    return undefined;
  }
  if (kind.type !== "duration") return ms;
  const { min, max } = kind;
  if ((min !== undefined && ms < min) || (max !== undefined && ms > max)) {
    const range =
      max === undefined
        ? `at least ${formatDuration(min ?? 0)}`
        : `from ${formatDuration(min ?? 0)} to ${formatDuration(max)}`;
    problems.add(path, `must be ${range}, not "${value}"`);
    return undefined;
  }
  return ms;
}

function checkList<T>(
  value: unknown,
  path: string,
  what: string,
  problems: Problems,
  item: (element: unknown, at: string) => T | undefined,
): T[] | undefined {
  if (!Array.isArray(value)) {
    problems.add(path, `must be a list of ${what}`);
    return undefined;
  }
  const items = value.map((element, index) => item(element, `${path}[${index}]`));
  return items.every((element) => element !== undefined) ? (items as T[]) : undefined;
}

function checkString(
  value: unknown,
  path: string,
  problems: Problems,
  check?: (v: string) => string | undefined,
): string | undefined {
  if (typeof value !== "string") {
    problems.add(path, "must be a string");
    return undefined;
  }
  // An empty path, host or claim name is always a mistake; leave the key out for the default.
  const problem = value === "" ? "must not be empty" : check?.(value);
  if (problem !== undefined) {
    problems.add(path, problem);
    return undefined;
  }
  return value;
}

export function checkValue(value: unknown, path: string, kind: Kind, problems: Problems): unknown {
  switch (kind.type) {
    case "string":
      return checkString(value, path, problems, kind.check);
    case "integer": {
      const { min, max, hint } = kind;
      if (
        typeof value === "number" &&
        Number.isSafeInteger(value) &&
        value >= min &&
        (max === undefined || value <= max)
      ) {
        return value;
      }
      const range = max === undefined ? `of ${min} or more` : `from ${min} to ${max}`;
      problems.add(path, `must be an integer ${range}${hint === undefined ? "" : ` ${hint}`}`);
      return undefined;
    }
    case "number":
      if (typeof value === "number" && value >= kind.min && value <= kind.max) return value;
      problems.add(path, `must be a number from ${kind.min} to ${kind.max}`);
      return undefined;
    case "boolean":
      if (typeof value === "boolean") return value;
      problems.add(path, "must be true or false");
      return undefined;
    case "duration":
      return checkDuration(value, path, kind, problems);
    case "durations": {
      const list = checkList(value, path, 'durations, e.g. ["5s", "5m"]', problems, (element, at) =>
        checkDuration(element, at, kind, problems),
      );
      if (list === undefined) return undefined;
      if (list.length === 0 || list.length > kind.maxItems) {
        problems.add(path, `must have from 1 to ${kind.maxItems} entries, not ${list.length}`);
        return undefined;
      }
      return list;
    }
    case "enum":
      if (typeof value === "string" && kind.values.includes(value)) return value;
      problems.add(
        path,
        `must be ${quoteList(kind.values)}${typeof value === "string" ? `, not "${value}"` : ""}`,
      );
      return undefined;
    case "strings":
      return checkList(value, path, "strings", problems, (element, at) =>
        checkString(element, at, problems, kind.check),
      );
    case "table":
      return isTable(value) ? value : undefined;
  }
}
