// What the pooled client (http-pool.ts) writes for one attempt: the origin whose connections
// may carry it, and the request's bytes.
import { isIP } from "node:net";
import { HEADER_NAME_RE } from "../lib/header-names.ts";
import type { SendRequest } from "./sender.ts";

/** Connections are shared only within one origin: same scheme, address, port and TLS name. */
export interface Origin {
  key: string;
  tls: boolean;
  /** Where to connect: the checked address, or the URL's host when nothing is pinned. */
  address: string;
  port: number;
  /** The URL's host name for SNI and certificate checks; none for an IP literal. */
  serverName: string | undefined;
}

// Header values are checked when a webhook is saved; this is the last line against a CR/LF
// reaching the wire (request splitting), whatever the source of the header.
// Values are written as Latin-1, so anything above U+00FF is refused rather than mangled.
const UNSAFE_VALUE = /[\r\n\0\u0100-\uffff]/;

interface Target {
  origin: Origin;
  /** Request line and host header. */
  start: string;
}

// Parsed URLs by URL (and pinned address): a URL parse was ~6 % of the dispatcher's CPU with
// one webhook. Bounded: cleared when full, so a churn of URLs costs a re-parse, not memory.
const MAX_TARGETS = 1_024;
const targets = new Map<string, Target | { error: Error }>();

function target(url: string, connectTo: string | undefined): Target | { error: Error } {
  const key = connectTo === undefined ? url : `${url}\n${connectTo}`;
  let t = targets.get(key);
  if (t === undefined) {
    t = parseTarget(url, connectTo);
    if (targets.size >= MAX_TARGETS) targets.clear();
    targets.set(key, t);
  }
  return t;
}

function parseTarget(raw: string, connectTo: string | undefined): Target | { error: Error } {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { error: new Error("invalid URL") };
  }
  const tls = url.protocol === "https:";
  if (!tls && url.protocol !== "http:") return { error: new Error(`unsupported scheme ${url.protocol}`) };
  const hostname = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  const port = url.port === "" ? (tls ? 443 : 80) : Number(url.port);
  const address = connectTo ?? hostname;
  const serverName = isIP(hostname) === 0 ? hostname : undefined;
  const origin: Origin = { key: `${url.protocol}//${address}|${port}|${hostname}`, tls, address, port, serverName };
  return { origin, start: `POST ${url.pathname}${url.search} HTTP/1.1\r\nhost: ${url.host}\r\n` };
}

/** The origin to use and the request's bytes: head in Latin-1 (header values), body in UTF-8. */
export function describe(req: SendRequest): { origin: Origin; bytes: Uint8Array } | { error: Error } {
  const t = target(req.url, req.connectTo);
  if ("error" in t) return t;
  let head = t.start;
  for (const [name, value] of Object.entries(req.headers)) {
    const lower = name.toLowerCase();
    // Framing headers are ours to write.
    if (lower === "host" || lower === "content-length" || lower === "transfer-encoding" || lower === "connection") continue;
    if (!HEADER_NAME_RE.test(name) || UNSAFE_VALUE.test(value)) return { error: new Error(`invalid header ${JSON.stringify(name)}`) };
    head += `${name}: ${value}\r\n`;
  }
  const bodyLength = Buffer.byteLength(req.body, "utf8");
  head += `content-length: ${bodyLength}\r\n\r\n`;
  const bytes = Buffer.allocUnsafe(head.length + bodyLength);
  bytes.write(head, 0, "latin1");
  bytes.write(req.body, head.length, "utf8");
  return { origin: t.origin, bytes };
}
