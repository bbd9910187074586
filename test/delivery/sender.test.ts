import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { createHttpPool } from "../../src/delivery/http-pool.ts";
import { createFetchSender, createSender, type Sender, type SendRequest } from "../../src/delivery/sender.ts";

type Server = ReturnType<typeof Bun.serve>;
const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.stop(true);
});

function receiver(fetch: (req: Request) => Response | Promise<Response>): string {
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, idleTimeout: 10, fetch });
  servers.push(server);
  return `http://127.0.0.1:${server.port}/hook`;
}

function request(url: string, over: Partial<SendRequest> = {}): SendRequest {
  return {
    url,
    headers: { "content-type": "application/json" },
    body: '{"id":"evt_1"}',
    timeoutMs: 2000,
    maxResponseBytes: 4096,
    ...over,
  };
}

// Every behaviour below holds for both outbound clients (`delivery.client`).
const pool = createHttpPool({ maxIdle: 64 });
afterAll(() => pool.close());
const clients: [string, Sender, (now: () => number) => Sender][] = [
  ["pool", createSender(pool.transport), (now) => createSender(pool.transport, now)],
  ["fetch", createFetchSender(), (now) => createFetchSender(fetch, now)],
];

/** Waits up to `ms` for a condition that another part of the event loop makes true. */
async function eventually(cond: () => boolean, ms = 1000): Promise<boolean> {
  for (let waited = 0; waited < ms && !cond(); waited += 10) await Bun.sleep(10);
  return cond();
}

describe.each(clients)("%s client", (_client, send, withClock) => {
describe("responses", () => {
  test("200 with its body captured", async () => {
    const r = await send(request(receiver(() => new Response("thanks", { status: 200 }))));
    expect(r.statusCode).toBe(200);
    expect(r.responseBody).toBe("thanks");
    expect(r.error).toBeNull();
    expect(r.retryAfter).toBeNull();
    expect(r.durationMs).toBeGreaterThan(0);
  });

  test("startedAt comes from the injected clock", async () => {
    const r = await withClock(() => 42)(request(receiver(() => new Response("ok"))));
    expect(r.startedAt).toBe(42);
  });

  test("500 is recorded with its body", async () => {
    const r = await send(request(receiver(() => new Response("boom", { status: 500 }))));
    expect(r).toMatchObject({ statusCode: 500, responseBody: "boom", error: null });
  });

  test("302 is recorded, never followed", async () => {
    let targetHits = 0;
    const url = receiver((req) => {
      if (new URL(req.url).pathname === "/elsewhere") {
        targetHits++;
        return new Response("followed");
      }
      return new Response(null, { status: 302, headers: { location: "/elsewhere" } });
    });
    const r = await send(request(url));
    expect(r.statusCode).toBe(302);
    expect(r.error).toBeNull();
    expect(targetHits).toBe(0);
  });

  test("429 with its Retry-After captured", async () => {
    const url = receiver(() => new Response("slow down", { status: 429, headers: { "retry-after": "120" } }));
    const r = await send(request(url));
    expect(r).toMatchObject({ statusCode: 429, retryAfter: "120" });
  });

  test("maxResponseBytes 0 stores no body", async () => {
    const r = await send(request(receiver(() => new Response("abc")), { maxResponseBytes: 0 }));
    expect(r).toMatchObject({ statusCode: 200, responseBody: null, error: null });
  });

  test("an empty body is an empty string", async () => {
    const r = await send(request(receiver(() => new Response(null, { status: 204 }))));
    expect(r).toMatchObject({ statusCode: 204, responseBody: "" });
  });
});

describe("the request", () => {
  test("carries exactly the given headers and body bytes", async () => {
    let seenHeaders: Record<string, string> = {};
    let seenBody = new Uint8Array();
    let seenMethod = "";
    const url = receiver(async (req) => {
      seenMethod = req.method;
      seenHeaders = Object.fromEntries(req.headers.entries());
      seenBody = new Uint8Array(await req.arrayBuffer());
      return new Response("ok");
    });
    const headers = {
      "content-type": "application/json",
      "user-agent": "Hookline/0.1.0",
      "webhook-id": "evt_01",
      "webhook-timestamp": "1700000000",
      "webhook-signature": "v1,abc= v1,def=",
      "x-custom": "a value, with commas",
    };
    const body = JSON.stringify({ id: "evt_01", data: { name: "Zoë 🚀", n: 1 } });
    const r = await send(request(url, { headers, body }));
    expect(r.statusCode).toBe(200);
    expect(seenMethod).toBe("POST");
    expect(seenBody).toEqual(new Uint8Array(Buffer.from(body, "utf8")));
    for (const [name, value] of Object.entries(headers)) expect(seenHeaders[name]).toBe(value);
    // Only transport headers may be added by the HTTP client.
    const transport = new Set(["host", "content-length", "connection", "accept", "accept-encoding"]);
    const extra = Object.keys(seenHeaders).filter((h) => !(h in headers) && !transport.has(h));
    expect(extra).toEqual([]);
    expect(seenHeaders["content-length"]).toBe(String(Buffer.byteLength(body)));
  });
});

describe("timeouts", () => {
  // What these prove is that the sender's own deadline ends the attempt: the error says
  // "timeout", which the transports report when the deadline's signal aborted (the receiver
  // giving up after its 10 s idle timeout would be a closed connection), and not before
  // timeoutMs (a timer does not fire early). How late after it the result comes back depends on
  // the machine: on a loaded 2-core box one run took 966 ms for a 300 ms deadline. So the upper
  // bound only says "the deadline, not something far later", with seconds of slack.
  const TIMEOUT_MS = 300;
  const SLACK_MS = 5_000;
  const limits = { timeout: TIMEOUT_MS + SLACK_MS + 5_000 };

  test(
    "a receiver that never answers: null status and a timeout error, no sooner than the deadline",
    async () => {
      const url = receiver(() => new Promise<Response>(() => {}));
      const t0 = performance.now();
      const r = await send(request(url, { timeoutMs: TIMEOUT_MS }));
      const took = performance.now() - t0;
      expect(r).toMatchObject({ statusCode: null, responseBody: null, error: `timeout after ${TIMEOUT_MS}ms` });
      expect(r.durationMs).toBeGreaterThanOrEqual(TIMEOUT_MS - 10);
      expect(r.durationMs).toBeLessThanOrEqual(took);
      expect(took).toBeLessThan(TIMEOUT_MS + SLACK_MS);
    },
    limits,
  );

  test(
    "headers sent, then the body stalls: the status is kept and the attempt times out",
    async () => {
      const url = receiver(
        () =>
          new Response(
            new ReadableStream({
              start(c) {
                c.enqueue(new TextEncoder().encode("partial"));
              },
            }),
            { status: 200 },
          ),
      );
      const t0 = performance.now();
      const r = await send(request(url, { timeoutMs: TIMEOUT_MS }));
      const took = performance.now() - t0;
      expect(r.statusCode).toBe(200);
      expect(r.error).toBe(`timeout after ${TIMEOUT_MS}ms while reading the response`);
      expect(r.responseBody).toBe("partial");
      expect(r.durationMs).toBeGreaterThanOrEqual(TIMEOUT_MS - 10);
      expect(took).toBeLessThan(TIMEOUT_MS + SLACK_MS);
    },
    limits,
  );
});

describe("large and multi-byte bodies", () => {
  test("a 20 MB stream is cut at maxResponseBytes and cancelled, not drained", async () => {
    const chunk = new Uint8Array(64 * 1024).fill(0x61);
    const chunks = (20 * 1024 * 1024) / chunk.length;
    let pulls = 0;
    let cancelled = false;
    const url = receiver(() => {
      let sent = 0;
      return new Response(
        new ReadableStream({
          type: "bytes",
          pull(c) {
            pulls++;
            if (sent++ >= chunks) c.close();
            else c.enqueue(chunk.slice());
          },
          cancel() {
            cancelled = true;
          },
        }),
      );
    });
    const t0 = performance.now();
    const r = await send(request(url, { maxResponseBytes: 4096, timeoutMs: 5000 }));
    expect(performance.now() - t0).toBeLessThan(1500);
    expect(r.statusCode).toBe(200);
    expect(r.error).toBeNull();
    expect(r.responseBody).toBe("a".repeat(4096));
    expect(await eventually(() => cancelled)).toBe(true);
    // Socket buffers let the server run ahead a little; far from the 320 chunks of the whole body.
    expect(pulls).toBeLessThan(chunks / 2);
  });

  test.each([
    ["é (2 bytes), odd cap", "é".repeat(3000), 4095, "é".repeat(2047)],
    ["é (2 bytes), even cap", "é".repeat(3000), 4096, "é".repeat(2048)],
    ["€ (3 bytes), cap one short", "€".repeat(2000), 4097, "€".repeat(1365)],
    ["🚀 (4 bytes), cap + 1", "🚀".repeat(2000), 4097, "🚀".repeat(1024)],
    ["🚀 (4 bytes), cap + 3", "🚀".repeat(2000), 4099, "🚀".repeat(1024)],
    ["ASCII then emoji", `${"a".repeat(4094)}🚀🚀`, 4096, "a".repeat(4094)],
    ["whole body under the cap", "é🚀x", 4096, "é🚀x"],
  ])("%s is cut on a character boundary", async (_name, text, cap, expected) => {
    const url = receiver(() => new Response(text, { headers: { "content-type": "text/plain; charset=utf-8" } }));
    const r = await send(request(url, { maxResponseBytes: cap }));
    expect(r.responseBody).toBe(expected);
    expect(r.responseBody).not.toContain("\uFFFD");
    expect(Buffer.byteLength(r.responseBody ?? "")).toBeLessThanOrEqual(cap);
  });
});

describe("connection errors", () => {
  test("connection refused", async () => {
    const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("x") });
    const port = server.port;
    server.stop(true);
    const r = await send(request(`http://127.0.0.1:${port}/hook`));
    expect(r).toMatchObject({ statusCode: null, responseBody: null, error: "connection refused" });
  });

  test("the receiver closes the connection without answering", async () => {
    const listener = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: { open: (s) => void s.end(), data: () => {} },
    });
    try {
      const r = await send(request(`http://127.0.0.1:${listener.port}/hook`));
      expect(r).toMatchObject({ statusCode: null, error: "connection closed unexpectedly" });
    } finally {
      listener.stop(true);
    }
  });

  test("the receiver closes the connection in the middle of the body", async () => {
    const listener = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        data: (s) => {
          s.write("HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\nhalf of it");
          s.end();
        },
      },
    });
    try {
      const r = await send(request(`http://127.0.0.1:${listener.port}/hook`));
      expect(r.statusCode).toBe(200);
      // Whether Bun hands over the bytes before the reset depends on timing; a prefix at most.
      expect("half of it".startsWith(r.responseBody ?? "")).toBe(true);
      expect(r.error).toBe("connection closed unexpectedly while reading the response");
    } finally {
      listener.stop(true);
    }
  });

  test("TLS against a plain HTTP port is a TLS error", async () => {
    const url = receiver(() => new Response("x")).replace("http:", "https:");
    const r = await send(request(url));
    expect(r.statusCode).toBeNull();
    expect(r.error ?? "").toStartWith("TLS error: ");
  });

});
});

describe("the fetch transport", () => {
  test("DNS failure, via an injected fetch shaped like Bun's error", async () => {
    const fake = async () => {
      throw Object.assign(new TypeError("getaddrinfo ENOTFOUND hooks.example.invalid"), { code: "ENOTFOUND" });
    };
    const r = await createFetchSender(fake)(request("https://hooks.example.invalid/x"));
    expect(r).toMatchObject({ statusCode: null, error: "DNS lookup failed for hooks.example.invalid" });
  });

  test("anything else is '<name>: <message>' and never a throw", async () => {
    const fake = () => {
      throw new RangeError("something odd");
    };
    const r = await createFetchSender(fake)(request("http://127.0.0.1:1/"));
    expect(r).toMatchObject({ statusCode: null, error: "RangeError: something odd" });
  });

  test("a fetch that ignores the abort signal still ends at the timeout", async () => {
    const stuck = () => new Promise<Response>(() => {});
    const t0 = performance.now();
    const r = await createFetchSender(stuck)(request("http://127.0.0.1:1/", { timeoutMs: 200 }));
    expect(performance.now() - t0).toBeLessThan(500);
    expect(r).toMatchObject({ statusCode: null, error: "timeout after 200ms" });
  });
});
