// The outbound HTTP/1.1 client of the dispatcher: keep-alive connections pooled per origin.
//
// Why not fetch: Bun's fetch keeps at most 64 idle sockets per process across all origins and
// evicts the longest-idle one (oven-sh/bun#42608), so with more than 64 receivers in rotation
// nearly every delivery opens a new connection — and even one busy receiver at 256 attempts in
// flight overflows it. `node:http` agents do pool per origin but cost ~2× fetch's CPU per
// request. This client writes one request per connection on Bun's native sockets and reads the
// response with http-parser-js; measured on the reference box it uses about a quarter of fetch's
// CPU per delivery and opens one connection per concurrent attempt per origin.
//
// Scope is exactly a webhook POST: no redirects (a 3xx is an answer), no request streaming, no
// compression (we never send Accept-Encoding), no proxies. `delivery.client = "fetch"` switches
// back to fetch should a receiver disagree with this client.
import type { Socket, SocketHandler } from "bun";
import { type Clock, type Scheduler, systemClock, systemScheduler } from "../domain/clock.ts";
import { IdleConnections } from "./http-idle.ts";
import { describe, type Origin } from "./http-request.ts";
import {
  connectionClosed,
  type Exchange,
  empty,
  failed,
  newExchange,
  type Parser,
  partial,
  protocolError,
  responseParser,
} from "./http-response.ts";
import type { RawResponse, Transport } from "./sender.ts";

export interface HttpPoolOptions {
  /** Idle connections kept across all origins; the least recently used one goes first. */
  maxIdle: number;
  /**
   * How long an idle connection is kept. Below Node's default server keep-alive timeout (5 s),
   * so we seldom write to a connection the receiver is just closing.
   */
  idleTimeoutMs?: number;
  /** Extra trusted CA certificates (PEM), for tests with their own CA. */
  ca?: string;
  /** When idle connections expire, and the timers that close them (tests drive both). */
  clock?: Clock;
  scheduler?: Scheduler;
}

/** What the pool holds, for /metrics: whether connections are reused is its whole point. */
export interface PoolStats {
  /** Connections established since start. */
  opened: number;
  /** Connections established and not closed yet (busy or idle). */
  open: number;
  /** Open connections waiting in the pool for the next request to their origin. */
  idle: number;
}

export interface HttpPool {
  transport: Transport;
  /** Connections now idle (for tests and metrics). */
  idleCount(): number;
  stats(): PoolStats;
  close(): void;
}

const DEFAULT_IDLE_MS = 4_000;

interface Conn {
  origin: Origin;
  socket: Socket<Conn> | null;
  parser: Parser;
  exchange: Exchange | null;
  pendingWrite: Uint8Array | null;
  ready: boolean;
  closed: boolean;
  onReady: ((error: unknown) => void) | null;
  expiresAt: number;
}

export function createHttpPool(opts: HttpPoolOptions): HttpPool {
  const idleMs = opts.idleTimeoutMs ?? DEFAULT_IDLE_MS;
  const scheduler = opts.scheduler ?? systemScheduler;
  const idle = new IdleConnections<Conn>({ maxIdle: opts.maxIdle, idleMs, clock: opts.clock ?? systemClock, scheduler, destroy });
  // Established connections (ready, not closed yet), and how many there ever were.
  const live = new Set<Conn>();
  let opened = 0;

  function destroy(conn: Conn): void {
    idle.remove(conn);
    live.delete(conn);
    if (conn.closed) return;
    conn.closed = true;
    conn.socket?.terminate();
  }

  function flush(conn: Conn): void {
    const data = conn.pendingWrite;
    if (!data || !conn.socket) return;
    const n = conn.socket.write(data);
    conn.pendingWrite = n >= data.byteLength ? null : data.subarray(Math.max(0, n));
  }

  function settleWithError(conn: Conn, cause: unknown): void {
    const ex = conn.exchange;
    conn.exchange = null;
    destroy(conn);
    ex?.settle(failed(partial(ex), cause, !ex.answered));
  }

  function onMessageComplete(conn: Conn): void {
    const ex = conn.exchange;
    if (!ex) return;
    if (ex.informational) {
      // 1xx (e.g. 103 Early Hints) precedes the real answer on the same connection.
      ex.informational = false;
      return;
    }
    conn.exchange = null;
    ex.settle({ ...partial(ex), complete: true });
    // Kept for the next request to its origin, unless it is closing or its peer's hint is too short.
    if (!ex.keepAlive || conn.closed || !idle.park(conn, ex.keepAliveMs)) destroy(conn);
  }

  const handler: SocketHandler<Conn> = {
    open(socket) {
      if (!socket.data.origin.tls) ready(socket.data, null);
    },
    handshake(socket, success, authorizationError) {
      ready(socket.data, success ? null : (authorizationError ?? new Error("TLS handshake failed")));
    },
    drain(socket) {
      flush(socket.data);
    },
    data(socket, chunk) {
      const conn = socket.data;
      // Bytes on an idle connection answer nothing we asked: it cannot be trusted any more.
      if (!conn.exchange) return destroy(conn);
      conn.exchange.answered = true;
      let r: number | Error;
      try {
        r = conn.parser.execute(chunk);
      } catch (e) {
        // Our own callbacks throw to stop the parser (unsolicited data, a bad length).
        r = e instanceof Error ? e : new Error(String(e));
      }
      if (r instanceof Error) settleWithError(conn, protocolError(r));
    },
    close(socket, error) {
      const conn = socket.data;
      idle.remove(conn);
      live.delete(conn);
      conn.closed = true;
      if (!conn.ready) return ready(conn, error ?? connectionClosed());
      if (!conn.exchange) return;
      // Without a length the body ends with the connection (HTTP/1.0 style); in any other state
      // the answer was cut short.
      conn.parser.finish();
      if (conn.exchange) settleWithError(conn, error ?? connectionClosed());
    },
    error(socket, error) {
      const conn = socket.data;
      if (!conn.ready) return ready(conn, error);
      settleWithError(conn, error);
    },
    connectError(socket, error) {
      ready(socket.data, error);
    },
  };

  function ready(conn: Conn, error: unknown): void {
    const cb = conn.onReady;
    conn.onReady = null;
    if (error === null) {
      conn.ready = true;
      if (!conn.closed) {
        live.add(conn);
        opened++;
      }
    } else destroy(conn);
    cb?.(error);
  }

  async function open(origin: Origin): Promise<Conn> {
    const conn: Conn = {
      origin,
      socket: null,
      parser: null as unknown as Parser,
      exchange: null,
      pendingWrite: null,
      ready: false,
      closed: false,
      onReady: null,
      expiresAt: 0,
    };
    conn.parser = responseParser(conn, {
      complete: () => onMessageComplete(conn),
      // Past the drain budget: not worth keeping.
      drop: () => destroy(conn),
    });
    const isReady = new Promise<void>((resolve, reject) => {
      conn.onReady = (e) => (e === null ? resolve() : reject(e));
    });
    // Awaited below only when the connect call itself succeeds.
    isReady.catch(() => {});
    conn.socket = await Bun.connect<Conn>({
      hostname: origin.address,
      port: origin.port,
      data: conn,
      socket: handler,
      ...(origin.tls
        ? {
            tls: {
              rejectUnauthorized: true,
              ...(origin.serverName ? { serverName: origin.serverName } : {}),
              ...(opts.ca ? { ca: opts.ca } : {}),
            },
          }
        : {}),
    });
    if (conn.closed) conn.socket.terminate();
    await isReady;
    return conn;
  }

  const transport: Transport = async (req, signal) => {
    const target = describe(req);
    if ("error" in target) return failed(empty(), target.error);
    const { origin, bytes } = target;
    let conn: Conn | null = null;
    let abort: (() => void) | null = null;
    const aborted = new Promise<RawResponse>((resolve) => {
      abort = () => {
        // Past the deadline: the connection may be mid-answer, so it is not reused. The exchange
        // is detached first so that closing the socket does not report a reset instead.
        const ex = conn?.exchange;
        if (conn) conn.exchange = null;
        resolve({ ...(ex ? partial(ex) : empty()), failure: { timeout: true, cause: signal.reason, retryable: false } });
        if (conn) destroy(conn);
      };
      signal.addEventListener("abort", abort, { once: true });
    });
    try {
      // A pooled connection the receiver closed meanwhile fails before any answer; the request
      // then goes once more over a fresh connection (a duplicate is possible but harmless:
      // delivery is at-least-once and receivers dedupe on webhook-id).
      for (let attempt = 0; ; attempt++) {
        const pooled = attempt === 0 ? idle.take(origin.key) : null;
        if (pooled) conn = pooled;
        else {
          const opening = open(origin).then(
            (c) => c,
            (e: unknown) => e as Error,
          );
          const c = await Promise.race([opening, aborted]);
          if (signal.aborted) {
            opening.then((late) => (late instanceof Error ? undefined : destroy(late)));
            return await aborted;
          }
          if (c instanceof Error) return failed(empty(), c);
          conn = c as Conn;
        }
        const result = await Promise.race([exchange(conn, bytes, req.maxResponseBytes), aborted]);
        if (result.failure?.retryable && pooled && !signal.aborted) continue;
        if (conn.exchange !== null) drainLater(conn, req.timeoutMs);
        return result;
      }
    } finally {
      if (abort) signal.removeEventListener("abort", abort);
    }
  };

  /**
   * The answer was settled at the body cap while the rest is still arriving: the connection is
   * reused once that rest is read, or closed if it has not ended within another timeout.
   */
  function drainLater(conn: Conn, ms: number): void {
    const ex = conn.exchange;
    scheduler.setTimeout(() => {
      if (conn.exchange === ex) destroy(conn);
    }, ms);
  }

  function exchange(conn: Conn, bytes: Uint8Array, cap: number): Promise<RawResponse> {
    return new Promise((resolve) => {
      conn.exchange = newExchange(cap, resolve);
      conn.pendingWrite = bytes;
      flush(conn);
    });
  }

  return {
    transport,
    idleCount: () => idle.size,
    stats: () => ({ opened, open: live.size, idle: idle.size }),
    close: () => idle.closeAll(),
  };
}
