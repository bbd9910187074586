// The pooled outbound client (http-pool.ts) against real loopback receivers: connections are
// reused per origin, never shared with a stale or confused peer, and every HTTP/1.1 framing a
// receiver may answer with is read right. Sender-level behaviour (timeouts, caps, error wording)
// is covered for both clients in sender.test.ts.
import { afterEach, describe, expect, test } from "bun:test";
import { createHttpPool, type HttpPool } from "../../src/delivery/http-pool.ts";
import { createSender, type SendRequest } from "../../src/delivery/sender.ts";
import { type Clock, ManualScheduler } from "../../src/domain/clock.ts";
import { fakeClock } from "../support/fixtures.ts";

type Server = ReturnType<typeof Bun.serve>;
type Listener = { stop(closeActive?: boolean): void };
const servers: Server[] = [];
const listeners: Listener[] = [];
const pools: HttpPool[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.stop(true);
  for (const l of listeners.splice(0)) l.stop(true);
  for (const p of pools.splice(0)) p.close();
});

function newPool(opts: { maxIdle?: number; idleTimeoutMs?: number; clock?: Clock; scheduler?: ManualScheduler } = {}) {
  const pool = createHttpPool({ ...opts, maxIdle: opts.maxIdle ?? 256 });
  pools.push(pool);
  return { pool, send: createSender(pool.transport) };
}

function request(url: string, over: Partial<SendRequest> = {}): SendRequest {
  return { url, headers: { "content-type": "application/json" }, body: '{"id":"evt_1"}', timeoutMs: 2000, maxResponseBytes: 4096, ...over };
}

/** A Bun.serve receiver that counts requests and the client ports (= connections) they came on. */
function counted(respond: () => Response | Promise<Response> = () => new Response("ok")) {
  const seen = { requests: 0, ports: new Set<number>() };
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 30,
    fetch(req, srv) {
      seen.requests++;
      seen.ports.add(srv.requestIP(req)?.port ?? 0);
      return respond();
    },
  });
  servers.push(server);
  return { url: `http://127.0.0.1:${server.port}/hook`, seen };
}

/**
 * Answers once `n` requests are waiting, each wave of `n` together: they are all in flight at
 * once by construction, not by a guess at how long a request takes.
 */
function together(n: number): () => Promise<Response> {
  let waiting: (() => void)[] = [];
  return async () => {
    await new Promise<void>((resolve) => {
      waiting.push(resolve);
      if (waiting.length < n) return;
      for (const go of waiting) go();
      waiting = [];
    });
    return new Response("ok");
  };
}

/**
 * A raw TCP receiver for answers Bun.serve would not give: it calls `answer` with the request
 * number on that connection (1, 2, …) and the connection number, and writes what it returns
 * (null: close without answering). `closed()` resolves once a connection has closed (by us or
 * by the client).
 */
function raw(answer: (nthOnConn: number, conn: number) => string | null) {
  const seen = { connections: 0, requests: 0 };
  let onClose = () => {};
  const closed = new Promise<void>((resolve) => (onClose = resolve));
  const listener = Bun.listen<{ n: number; conn: number; buf: string }>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(s) {
        s.data = { n: 0, conn: ++seen.connections, buf: "" };
      },
      data(s, chunk) {
        s.data.buf += chunk.toString("latin1");
        for (;;) {
          const end = s.data.buf.indexOf("\r\n\r\n");
          if (end < 0) return;
          const length = Number(/content-length: (\d+)/i.exec(s.data.buf.slice(0, end))?.[1] ?? 0);
          if (s.data.buf.length < end + 4 + length) return;
          s.data.buf = s.data.buf.slice(end + 4 + length);
          seen.requests++;
          const out = answer(++s.data.n, s.data.conn);
          if (out === null) {
            s.end();
            return;
          }
          s.write(out);
        }
      },
      close: () => onClose(),
    },
  });
  listeners.push(listener);
  return { url: `http://127.0.0.1:${listener.port}/hook`, seen, closed: () => closed };
}

/** A raw receiver answering every request with `answer()`, reporting when a connection closes. */
function listening(answer: () => string, onClose: () => void): string {
  const listener = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      data(s) {
        s.write(answer());
      },
      close: onClose,
    },
  });
  listeners.push(listener);
  return `http://127.0.0.1:${listener.port}/hook`;
}

/** Waits up to `ms` for a condition that another part of the event loop makes true. */
async function eventually(cond: () => boolean, ms = 1000): Promise<boolean> {
  for (let waited = 0; waited < ms && !cond(); waited += 5) await Bun.sleep(5);
  return cond();
}

const OK = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";

describe("connection reuse", () => {
  test("sequential deliveries to one receiver share one connection", async () => {
    const { send } = newPool();
    const r = counted();
    for (let i = 0; i < 20; i++) expect((await send(request(r.url))).statusCode).toBe(200);
    expect(r.seen.requests).toBe(20);
    expect(r.seen.ports.size).toBe(1);
  });

  test("80 receivers in rotation keep one connection each (fetch's shared pool holds 64)", async () => {
    const { send } = newPool();
    const receivers = Array.from({ length: 80 }, () => counted());
    for (let round = 0; round < 3; round++) {
      for (const r of receivers) expect((await send(request(r.url))).statusCode).toBe(200);
    }
    for (const r of receivers) expect(r.seen.ports.size).toBe(1);
  });

  test("concurrent deliveries open one connection each, and the next wave reuses them", async () => {
    const { send, pool } = newPool();
    const r = counted(together(30));
    const wave = () => Promise.all(Array.from({ length: 30 }, () => send(request(r.url))));
    for (const res of await wave()) expect(res.statusCode).toBe(200);
    expect(r.seen.ports.size).toBe(30);
    expect(pool.idleCount()).toBe(30);
    expect(pool.stats()).toEqual({ opened: 30, open: 30, idle: 30 });
    await wave();
    expect(r.seen.ports.size).toBe(30);
    // What /metrics shows: opened counts connections, not requests.
    expect(pool.stats()).toEqual({ opened: 30, open: 30, idle: 30 });
    pool.close();
    expect(pool.stats()).toEqual({ opened: 30, open: 0, idle: 0 });
  });

  test("idle connections beyond maxIdle are closed, least recently used first", async () => {
    const { send, pool } = newPool({ maxIdle: 4 });
    const receivers = Array.from({ length: 6 }, () => counted());
    for (const r of receivers) await send(request(r.url));
    expect(pool.idleCount()).toBe(4);
    expect(pool.stats()).toEqual({ opened: 6, open: 4, idle: 4 });
    // The most recent four are still pooled; the first receiver needs a new connection.
    await send(request(receivers[5]?.url ?? ""));
    await send(request(receivers[0]?.url ?? ""));
    expect(receivers[5]?.seen.ports.size).toBe(1);
    expect(receivers[0]?.seen.ports.size).toBe(2);
  });

  test("an idle connection is closed after idleTimeoutMs", async () => {
    const clock = fakeClock();
    const scheduler = new ManualScheduler(clock);
    const { send, pool } = newPool({ idleTimeoutMs: 50, clock, scheduler });
    const r = counted();
    await send(request(r.url));
    expect(pool.idleCount()).toBe(1);
    scheduler.advance(49);
    expect(pool.idleCount()).toBe(1);
    scheduler.advance(1);
    expect(pool.idleCount()).toBe(0);
    // Nothing idle: the reaper stops until a connection is parked again.
    expect(scheduler.pending).toBe(0);
    await send(request(r.url));
    expect(r.seen.ports.size).toBe(2);
  });

  test("a small body past the cap is read to the end so the connection is kept", async () => {
    const { send, pool } = newPool();
    const r = counted(() => new Response("x".repeat(10_000)));
    for (let i = 0; i < 3; i++) {
      const res = await send(request(r.url, { maxResponseBytes: 100 }));
      expect(res.responseBody).toBe("x".repeat(100));
      // The answer is settled at the cap; the rest is read in the background before pooling.
      expect(await eventually(() => pool.idleCount() === 1)).toBe(true);
    }
    expect(r.seen.ports.size).toBe(1);
  });
});

describe("when not to reuse", () => {
  test("a pooled connection the receiver dropped is replaced, and the delivery still arrives", async () => {
    // The receiver answers the first request, then closes that connection on the second without
    // answering (as a server whose keep-alive timer just fired would).
    const r = raw((n) => (n === 1 ? OK : null));
    const { send } = newPool();
    expect((await send(request(r.url))).statusCode).toBe(200);
    const second = await send(request(r.url));
    expect(second).toMatchObject({ statusCode: 200, error: null });
    expect(r.seen.connections).toBe(2);
  });

  test("a fresh connection closed without an answer is an error, not retried", async () => {
    const r = raw(() => null);
    const { send } = newPool();
    const res = await send(request(r.url));
    expect(res).toMatchObject({ statusCode: null, error: "connection closed unexpectedly" });
    expect(r.seen.requests).toBe(1);
  });

  test("Connection: close is honoured", async () => {
    const r = raw(() => "HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok");
    const { send, pool } = newPool();
    for (let i = 0; i < 3; i++) expect((await send(request(r.url))).statusCode).toBe(200);
    expect(pool.idleCount()).toBe(0);
    expect(r.seen.connections).toBe(3);
  });

  test("a Keep-Alive timeout hint too short to use is not pooled", async () => {
    const r = raw(() => "HTTP/1.1 200 OK\r\nkeep-alive: timeout=1\r\ncontent-length: 2\r\n\r\nok");
    const { send, pool } = newPool();
    await send(request(r.url));
    expect(pool.idleCount()).toBe(0);
  });

  test("an answer on an idle connection (nobody asked) retires it", async () => {
    const r = raw((n) => (n === 1 ? `${OK}HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n` : OK));
    const { send, pool } = newPool();
    const first = await send(request(r.url));
    expect(first.statusCode).toBe(200);
    // The client hangs up on the stray answer: the receiver sees it close.
    await r.closed();
    expect(pool.idleCount()).toBe(0);
    expect((await send(request(r.url))).statusCode).toBe(200);
    expect(r.seen.connections).toBe(2);
  });

  test("a body too large to drain closes the connection instead", async () => {
    let onClose = () => {};
    const closed = new Promise<void>((resolve) => (onClose = resolve));
    const big = listening(() => `HTTP/1.1 200 OK\r\ncontent-length: 200000\r\n\r\n${"y".repeat(200_000)}`, () => onClose());
    const { send, pool } = newPool();
    expect((await send(request(big, { maxResponseBytes: 10 }))).responseBody).toBe("yyyyyyyyyy");
    await closed;
    expect(pool.idleCount()).toBe(0);
  });
});

describe("parsed URLs are cached", () => {
  test("the same URL pinned to another address connects there, and the path and query are kept", async () => {
    // The cache is keyed by URL and pinned address: a key without the address would send the
    // second request to the first address (the one checked for the first request's DNS answer).
    const paths: string[] = [];
    const a = counted();
    const b = Bun.serve({
      hostname: "::1",
      port: new URL(a.url).port ? Number(new URL(a.url).port) : 0,
      fetch(req) {
        paths.push(new URL(req.url).pathname + new URL(req.url).search);
        return new Response("b");
      },
    });
    servers.push(b);
    const url = `http://localhost:${b.port}/hook/x?y=1`;
    const { send } = newPool();
    expect(await send(request(url, { connectTo: "127.0.0.1" }))).toMatchObject({ statusCode: 200, responseBody: "ok" });
    expect(await send(request(url, { connectTo: "::1" }))).toMatchObject({ statusCode: 200, responseBody: "b" });
    expect(await send(request(url, { connectTo: "127.0.0.1" }))).toMatchObject({ responseBody: "ok" });
    expect(a.seen.requests).toBe(2);
    expect(paths).toEqual(["/hook/x?y=1"]);
  });
});

describe("framing", () => {
  test("a chunked body", async () => {
    const r = raw(() => "HTTP/1.1 202 Accepted\r\ntransfer-encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nx-trailer: t\r\n\r\n");
    const { send, pool } = newPool();
    expect(await send(request(r.url))).toMatchObject({ statusCode: 202, responseBody: "hello world", error: null });
    expect(pool.idleCount()).toBe(1);
  });

  test("a body delimited by the end of the connection (no length)", async () => {
    const closing = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        data(s) {
          s.write("HTTP/1.0 200 OK\r\n\r\nuntil close");
          s.end();
        },
      },
    });
    listeners.push(closing);
    const { send } = newPool();
    expect(await send(request(`http://127.0.0.1:${closing.port}/hook`))).toMatchObject({
      statusCode: 200,
      responseBody: "until close",
      error: null,
    });
  });

  test("an interim 103 answer is skipped for the final one", async () => {
    const r = raw(() => `HTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\n${OK}`);
    const { send } = newPool();
    expect(await send(request(r.url))).toMatchObject({ statusCode: 200, responseBody: "ok", error: null });
  });

  test("204 and 304 carry no body even with a length", async () => {
    const r = raw((n) => (n === 1 ? "HTTP/1.1 204 No Content\r\n\r\n" : OK));
    const { send } = newPool();
    expect(await send(request(r.url))).toMatchObject({ statusCode: 204, responseBody: "" });
    expect(await send(request(r.url))).toMatchObject({ statusCode: 200, responseBody: "ok" });
    expect(r.seen.connections).toBe(1);
  });

  test.each([
    ["garbage", "SMTP ready\r\n\r\n"],
    ["a negative length", "HTTP/1.1 200 OK\r\ncontent-length: -5\r\n\r\nok"],
    ["two different lengths", "HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\nok"],
    ["a protocol switch", "HTTP/1.1 101 Switching Protocols\r\nupgrade: h2c\r\nconnection: upgrade\r\n\r\n"],
  ])("%s is an invalid response, and the connection is dropped", async (_name, answer) => {
    const r = raw(() => answer);
    const { send, pool } = newPool();
    const res = await send(request(r.url));
    expect(res.error ?? "").toContain("invalid HTTP response");
    expect(pool.idleCount()).toBe(0);
  });

  test("headers that would split the request are refused before anything is sent", async () => {
    const r = counted();
    const { send } = newPool();
    for (const headers of <Record<string, string>[]>[{ "x-a": "1\r\nx-injected: 1" }, { "x-a\r\nx-b": "1" }, { "x-a": "snow ☃" }]) {
      const res = await send(request(r.url, { headers }));
      expect(res.statusCode).toBeNull();
      expect(res.error ?? "").toContain("invalid header");
    }
    expect(r.seen.requests).toBe(0);
  });

  test("Latin-1 header values go out as Latin-1 bytes; the body as UTF-8", async () => {
    let got: { header: string | null; body: string; path: string } = { header: null, body: "", path: "" };
    const server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      async fetch(req) {
        const u = new URL(req.url);
        got = { header: req.headers.get("x-name"), body: await req.text(), path: `${u.pathname}${u.search}` };
        return new Response("ok");
      },
    });
    servers.push(server);
    const { send } = newPool();
    await send(request(`http://127.0.0.1:${server.port}/h?q=1`, { headers: { "x-name": "Zoë" }, body: '{"n":"Zoë 🚀"}' }));
    expect(got).toEqual({ header: "Zoë", body: '{"n":"Zoë 🚀"}', path: "/h?q=1" });
  });
});
