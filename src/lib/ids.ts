import { decodeTime, encodeTime, monotonicFactory } from "ulid";

// ULIDs are time-sortable, and the monotonic factory keeps ids created in the same millisecond
// in creation order. Lists page on the id ("newest first"), so this order is what makes cursor
// pagination stable while rows are being inserted.
const ulid = monotonicFactory();

export type IdPrefix = "wh" | "evt" | "dlv" | "key" | "rpl";

export function newId(prefix: IdPrefix, now: number = Date.now()): string {
  return `${prefix}_${ulid(now)}`;
}

const ID_RE = /^(wh|evt|dlv|key|rpl)_[0-9A-HJKMNP-TV-Z]{26}$/;

export function isId(value: string, prefix: IdPrefix): boolean {
  const m = ID_RE.exec(value);
  return m !== null && m[1] === prefix;
}

/**
 * The smallest id of that prefix created at `ms`: every id created earlier sorts below it, so
 * "created before" becomes a range scan on the primary key.
 */
export function idBoundary(prefix: IdPrefix, ms: number): string {
  return `${prefix}_${encodeTime(Math.max(0, Math.floor(ms)), 10)}${"0".repeat(16)}`;
}

/** The creation time an id carries (its ULID's time part). */
export function idTimeMs(id: string): number {
  return decodeTime(id.slice(id.indexOf("_") + 1));
}
