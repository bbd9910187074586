// Reading one HTTP/1.1 response of the pooled client (http-pool.ts) with http-parser-js: status,
// the few headers we act on, the body up to the configured cap, and what is left to drain.
import { HTTPParser } from "http-parser-js";
import { concat, type RawResponse } from "./sender.ts";

/** Bytes of an unwanted response body read to keep its connection; beyond it we close. */
const DRAIN_BUDGET = 64 * 1024;
const MAX_HEADER_BYTES = 64 * 1024;

export type Parser = InstanceType<typeof HTTPParser>;

/** One request in progress on a connection. */
export interface Exchange {
  cap: number;
  status: number | null;
  retryAfter: string | null;
  parts: Uint8Array[];
  kept: number;
  /** Any response byte arrived: a failure from then on is not a stale pooled connection. */
  answered: boolean;
  informational: boolean;
  settled: boolean;
  keepAlive: boolean;
  keepAliveMs: number | null;
  drained: number;
  settle(r: RawResponse): void;
}

export function newExchange(cap: number, resolve: (r: RawResponse) => void): Exchange {
  return {
    cap,
    status: null,
    retryAfter: null,
    parts: [],
    kept: 0,
    answered: false,
    informational: false,
    settled: false,
    keepAlive: false,
    keepAliveMs: null,
    drained: 0,
    settle(r) {
      if (this.settled) return;
      this.settled = true;
      resolve(r);
    },
  };
}

/**
 * A parser feeding `conn.exchange`: throws (to stop parsing) on an answer nobody asked for, a
 * protocol switch or a malformed length; `complete` runs at the end of each message (1xx
 * included), `drop` when the body left to drain is past the budget.
 */
export function responseParser(conn: { exchange: Exchange | null }, on: { complete(): void; drop(): void }): Parser {
  const parser = new HTTPParser(HTTPParser.RESPONSE);
  parser.maxHeaderSize = MAX_HEADER_BYTES;
  parser[HTTPParser.kOnHeadersComplete] = (info) => {
    const ex = conn.exchange;
    // An answer nobody asked for: the connection cannot be trusted any more.
    if (!ex) throw new Error("unsolicited response");
    const status = info.statusCode ?? 0;
    if (status >= 100 && status < 200) {
      if (status === 101) throw new Error("unexpected protocol switch");
      ex.informational = true;
      return;
    }
    ex.status = status;
    ex.keepAlive = info.shouldKeepAlive;
    const h = info.headers;
    for (let i = 0; i < h.length; i += 2) {
      const name = (h[i] ?? "").toLowerCase();
      const value = h[i + 1] ?? "";
      if (name === "retry-after") ex.retryAfter = value;
      // http-parser-js reads a malformed length as NaN or negative; refuse it instead.
      else if (name === "content-length" && !/^\d+$/.test(value)) throw new Error("invalid content-length");
      else if (name === "keep-alive") {
        const m = /timeout=(\d+)/i.exec(value);
        if (m) ex.keepAliveMs = Number(m[1]) * 1_000;
      }
    }
    if (ex.cap <= 0) ex.settle({ ...partial(ex), complete: false });
  };
  parser[HTTPParser.kOnBody] = (chunk, start, len) => {
    const ex = conn.exchange;
    if (!ex) throw new Error("unsolicited response body");
    const take = Math.min(len, ex.cap - ex.kept);
    if (take > 0) {
      // Copied: the socket's buffer is reused for the next read.
      ex.parts.push(Uint8Array.prototype.slice.call(chunk, start, start + take));
      ex.kept += take;
    }
    if (ex.kept >= ex.cap && !ex.settled) ex.settle({ ...partial(ex), complete: false });
    if (len > take) {
      // Past the cap the body is only read to keep the connection; a large one is not worth it.
      ex.drained += len - take;
      if (ex.drained > DRAIN_BUDGET) {
        conn.exchange = null;
        on.drop();
      }
    }
  };
  parser[HTTPParser.kOnMessageComplete] = () => on.complete();
  return parser;
}

export function partial(ex: Exchange): RawResponse {
  return { status: ex.status, retryAfter: ex.retryAfter, body: concat(ex.parts, ex.kept), complete: false };
}

/** `base` with an error (not a timeout); `retryable` only for a pooled connection that never answered. */
export function failed(base: RawResponse, cause: unknown, retryable = false): RawResponse {
  return { ...base, failure: { timeout: false, cause, retryable } };
}

export function empty(): RawResponse {
  return { status: null, retryAfter: null, body: null, complete: false };
}

export function connectionClosed(): Error {
  return Object.assign(new Error("connection closed before the response ended"), { code: "ECONNRESET" });
}

export function protocolError(e: Error): Error {
  return Object.assign(new Error(`invalid HTTP response (${e.message})`), { code: "EPROTOCOL" });
}
