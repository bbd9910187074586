// One delivery attempt over HTTP, whatever carries it (http-pool.ts, or fetch). It never throws:
// every failure becomes facts on the result (status, error string), and retry-policy.ts decides
// what they mean (STYLE.md point 4).

export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

export interface SendRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  /** Bounds the whole attempt: connect, headers and reading the body (API.md §10). */
  timeoutMs: number;
  /** Response body bytes kept; the rest is cancelled unread. 0 keeps none. */
  maxResponseBytes: number;
  /**
   * The checked IP address to connect to instead of resolving the URL's host again (DNS
   * rebinding). Host header and TLS server name stay those of the URL.
   */
  connectTo?: string;
}

export interface SendResult {
  /** Epoch ms from the injected clock, for the attempt row. */
  startedAt: number;
  /** Fractional ms from a monotonic clock, so a wall-clock step cannot make it negative. */
  durationMs: number;
  /** null when no response arrived (timeout, refused, DNS, TLS). A 3xx is kept, never followed. */
  statusCode: number | null;
  /** Cut at maxResponseBytes on a UTF-8 boundary; null when no response or nothing to keep. */
  responseBody: string | null;
  /**
   * A short readable reason, or null. It may accompany a status code: the headers arrived but the
   * body read timed out or broke. classify() treats a 2xx with an error as a failed attempt,
   * because the attempt did not complete within its timeout.
   */
  error: string | null;
  retryAfter: string | null;
}

/** What a transport brings back; createSender turns it into the attempt's facts. */
export interface RawResponse {
  /** null when no response head arrived. */
  status: number | null;
  retryAfter: string | null;
  /** The body bytes kept (at most maxResponseBytes), or null when none were read. */
  body: Uint8Array | null;
  /** The body was read to its end (so its last character is whole). */
  complete: boolean;
  /**
   * Why the attempt did not finish: the deadline passed (`timeout`), or an error. `retryable`
   * marks a pooled connection that died before any answer (the pool then sends once more).
   */
  failure?: { timeout: boolean; cause: unknown; retryable?: boolean };
}

/** Sends one POST, honouring `signal` (the attempt's deadline) and the body cap. */
export type Transport = (req: SendRequest, signal: AbortSignal) => Promise<RawResponse>;

export type Sender = (req: SendRequest) => Promise<SendResult>;

class AttemptTimeout extends Error {
  override name = "TimeoutError";
}

/**
 * Wraps a transport with the attempt's one deadline and turns what came back into the row's
 * facts: a status and the body kept, a readable error, or both.
 */
export function createSender(transport: Transport, now: () => number = Date.now): Sender {
  return async (req) => {
    const startedAt = now();
    const t0 = performance.now();
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new AttemptTimeout("timeout")), req.timeoutMs);
    let raw: RawResponse;
    try {
      raw = await transport(req, controller.signal);
    } catch (e) {
      // A transport should not throw; if one does, the attempt still gets a readable reason.
      raw = { status: null, retryAfter: null, body: null, complete: false, failure: { timeout: false, cause: e } };
    } finally {
      clearTimeout(timer);
    }
    const durationMs = performance.now() - t0;
    let responseBody: string | null = null;
    if (raw.status !== null && req.maxResponseBytes > 0) {
      // What arrived before a stall or a reset is kept: it often says what the receiver was doing.
      const bytes = raw.body ?? new Uint8Array(0);
      responseBody = new TextDecoder().decode(raw.complete ? bytes : bytes.subarray(0, utf8Boundary(bytes)));
    }
    let error: string | null = null;
    if (raw.failure) {
      const reading = raw.status === null ? "" : " while reading the response";
      const what = raw.failure.timeout ? `timeout after ${req.timeoutMs}ms` : describeError(raw.failure.cause, req.url);
      error = `${what}${reading}`;
    }
    return { startedAt, durationMs, statusCode: raw.status, responseBody, error, retryAfter: raw.retryAfter };
  };
}

/** The URL and options that reach `connectTo` while presenting the original host. */
function pinned(req: SendRequest): { url: string; headers: Record<string, string>; tls?: { serverName: string } } {
  if (req.connectTo === undefined) return { url: req.url, headers: req.headers };
  const url = new URL(req.url);
  const host = url.host;
  const name = url.hostname;
  url.hostname = req.connectTo.includes(":") ? `[${req.connectTo}]` : req.connectTo;
  return {
    url: url.href,
    headers: { ...req.headers, host },
    ...(url.protocol === "https:" && !name.startsWith("[") ? { tls: { serverName: name } } : {}),
  };
}

/**
 * The transport over `fetch` (`delivery.client = "fetch"`, and tests that stand in for the
 * network). Every await races the deadline, in case fetch or a stalled body stream were slow to
 * honour the abort signal.
 */
export function fetchTransport(fetchFn: FetchLike = fetch): Transport {
  return async (req, signal) => {
    const deadline = new Promise<never>((_, reject) => {
      signal.addEventListener("abort", () => reject(signal.reason), { once: true });
    });
    deadline.catch(() => {});
    const isTimeout = (e: unknown) => signal.aborted || (e instanceof Error && e.name === "TimeoutError");
    const target = pinned(req);
    let res: Response;
    try {
      res = await Promise.race([
        fetchFn(target.url, {
          method: "POST",
          headers: target.headers,
          ...(target.tls ? { tls: target.tls } : {}),
          body: req.body,
          // A receiver's redirect is a failed attempt recorded with its 3xx: following it would
          // send signed events to a URL nobody registered (and past the destination checks).
          redirect: "manual",
          signal,
        }),
        deadline,
      ]);
    } catch (e) {
      return { status: null, retryAfter: null, body: null, complete: false, failure: { timeout: isTimeout(e), cause: e } };
    }
    const read = await readCapped(res, req.maxResponseBytes, deadline);
    return {
      status: res.status,
      retryAfter: res.headers.get("retry-after"),
      body: read.bytes,
      complete: read.complete,
      ...(read.failed ? { failure: { timeout: isTimeout(read.cause), cause: read.cause } } : {}),
    };
  };
}

/** The fetch transport as a Sender. */
export function createFetchSender(fetchFn: FetchLike = fetch, now: () => number = Date.now): Sender {
  return createSender(fetchTransport(fetchFn), now);
}

/**
 * Reads at most `max` bytes with a stream reader and cancels the rest, so a huge or endless
 * response costs neither memory nor time (the socket is closed rather than drained).
 */
async function readCapped(
  res: Response,
  max: number,
  deadline: Promise<never>,
): Promise<{ bytes: Uint8Array; complete: boolean; failed: boolean; cause?: unknown }> {
  // The common case, a small body of known length: read it whole, skipping the stream machinery.
  const length = Number(res.headers.get("content-length") ?? Number.NaN);
  if (Number.isInteger(length) && length <= max && res.headers.get("content-encoding") === null) {
    try {
      const body = await Promise.race([res.arrayBuffer(), deadline]);
      return { bytes: new Uint8Array(body), complete: true, failed: false };
    } catch (e) {
      return { bytes: new Uint8Array(0), complete: false, failed: true, cause: e };
    }
  }
  const parts: Uint8Array[] = [];
  let total = 0;
  let ended = false;
  let failed = false;
  let cause: unknown;
  const reader = res.body?.getReader();
  try {
    while (reader && total < max) {
      const chunk = await Promise.race([reader.read(), deadline]);
      if (chunk.done) break;
      const take = Math.min(chunk.value.byteLength, max - total);
      parts.push(take < chunk.value.byteLength ? chunk.value.subarray(0, take) : chunk.value);
      total += take;
    }
    ended = !reader || total < max;
  } catch (e) {
    failed = true;
    cause = e;
  } finally {
    // Not awaited: cancelling may wait on the network, and the attempt is over either way.
    if (reader && !ended) reader.cancel().catch(() => {});
  }
  return { bytes: concat(parts, total), complete: ended && !failed, failed, cause };
}

export function concat(parts: Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1 && parts[0]?.byteLength === total) return parts[0];
  const out = new Uint8Array(total);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.byteLength;
  }
  return out;
}

/**
 * Length of the longest prefix that does not end inside a multi-byte character: back off over
 * up to three continuation bytes (10xxxxxx) to the lead byte, and drop that character if the
 * lead byte announces more bytes than are left.
 */
function utf8Boundary(bytes: Uint8Array): number {
  const end = bytes.length;
  let i = end - 1;
  while (i >= 0 && end - i < 4 && ((bytes[i] ?? 0) & 0xc0) === 0x80) i--;
  if (i < 0) return end;
  const lead = bytes[i] ?? 0;
  const need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return i + need > end ? i : end;
}

const REFUSED = new Set(["ECONNREFUSED", "ConnectionRefused", "FailedToOpenSocket"]);
const DNS = new Set(["ENOTFOUND", "EAI_AGAIN", "EAI_NONAME", "EAI_FAIL", "EAI_NODATA", "DNSException"]);
const RESET = new Set(["ECONNRESET", "ConnectionClosed", "UND_ERR_SOCKET"]);

/**
 * Short readable strings for the attempt row. Codes seen from Bun 1.4 fetch by experiment:
 * ECONNREFUSED (refused port), ENOTFOUND (getaddrinfo), EPROTO (TLS handshake with a non-TLS
 * server), DEPTH_ZERO_SELF_SIGNED_CERT and other *CERT* codes (verification), ECONNRESET (peer
 * closed, or answered garbage). Older Bun spellings and undici's are accepted too.
 */
function describeError(e: unknown, url: string): string {
  const err = (typeof e === "object" && e !== null ? e : {}) as {
    name?: unknown;
    message?: unknown;
    code?: unknown;
    cause?: { code?: unknown };
  };
  // undici (Node's fetch) puts the system error code on `cause`; Bun puts it on the error.
  const rawCode = err.code ?? err.cause?.code;
  const code = typeof rawCode === "string" ? rawCode : "";
  const name = typeof err.name === "string" ? err.name : "Error";
  // Bun prefixes the code and appends advice about `verbose: true`; neither helps a reader.
  const message = (typeof err.message === "string" ? err.message : String(e))
    .replace(/^[A-Z][A-Z0-9_]+: /, "")
    .replace(/\s*For more information.*$/s, "")
    .slice(0, 200);
  if (REFUSED.has(code)) return "connection refused";
  if (DNS.has(code) || name === "DNSException") return `DNS lookup failed for ${hostOf(url)}`;
  if (code === "EPROTO" || /CERT|TLS|SSL/.test(code)) return `TLS error: ${message}`;
  if (RESET.has(code)) return "connection closed unexpectedly";
  return `${name}: ${message}`;
}

function hostOf(url: string): string {
  try {
    return new URL(url).hostname;
  } catch {
    return url;
  }
}
