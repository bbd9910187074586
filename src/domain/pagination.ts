import { ValidationError } from "./errors.ts";
import { type IdPrefix, isId } from "../lib/ids.ts";

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 100;

/** A page request after validation: ids strictly below `before` (newest first). */
export interface PageRequest {
  limit: number;
  before?: string;
}

export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

// The cursor is the last id of the previous page, wrapped so that clients treat it as opaque.
// Ids are unique and time-sortable, so "id < cursor" neither skips nor repeats rows, whatever
// is inserted meanwhile.
export function encodeCursor(lastId: string): string {
  return Buffer.from(`v1:${lastId}`, "utf8").toString("base64url");
}

// Only the plain spelling: Number() would also take "1e1", "0x10", " 5", "5.0", "+5" and ""
// (as 0, or as "no limit" before), so two clients could mean different pages by one query.
// Leading zeros are refused too: "010" is 8 in some languages, and one spelling per value keeps
// a URL canonical.
const PLAIN_LIMIT = /^[1-9][0-9]{0,2}$/;

/** `limit` as written in a query string, or undefined unless it is a plain 1–100. */
export function parseLimit(raw: string): number | undefined {
  if (!PLAIN_LIMIT.test(raw)) return undefined;
  const n = Number(raw);
  return n <= MAX_LIMIT ? n : undefined;
}

export function parsePage(
  query: { limit?: string | number; cursor?: string },
  prefix: IdPrefix,
): PageRequest {
  const errors: string[] = [];
  let limit = DEFAULT_LIMIT;
  if (query.limit !== undefined) {
    const n = parseLimit(String(query.limit));
    if (n === undefined) errors.push(`limit: must be an integer from 1 to ${MAX_LIMIT}`);
    else limit = n;
  }
  let before: string | undefined;
  if (query.cursor !== undefined && query.cursor !== "") {
    const decoded = Buffer.from(query.cursor, "base64url").toString("utf8");
    const id = decoded.startsWith("v1:") ? decoded.slice(3) : "";
    if (!isId(id, prefix)) errors.push("cursor: is not a cursor returned by this list");
    else before = id;
  }
  if (errors.length > 0) throw new ValidationError(errors);
  return before === undefined ? { limit } : { limit, before };
}

/** Stores fetch limit + 1 rows; the extra one only says whether another page exists. */
export function toPage<R extends { id: string }, T>(
  rows: R[],
  limit: number,
  render: (row: R) => T,
): Page<T> {
  const more = rows.length > limit;
  const pageRows = more ? rows.slice(0, limit) : rows;
  const last = pageRows[pageRows.length - 1];
  return {
    data: pageRows.map(render),
    next_cursor: more && last ? encodeCursor(last.id) : null,
  };
}
