// API.md §1 and §10 "Rate limit": a token bucket per credential, burst = per_minute.
import { afterEach, describe, expect, test } from "bun:test";
import { RateLimiter } from "../../src/api/rate-limit.ts";
import { expectError } from "../support/expect-error.ts";
import { type Harness, harness } from "../support/harness.ts";

/** A clock the test moves by hand. */
function fakeClock(start = Date.UTC(2025, 0, 1)) {
  let t = start;
  return {
    now: () => t,
    advance(ms: number) {
      t += ms;
    },
  };
}

describe("RateLimiter", () => {
  test("allows a burst of per_minute, then denies with Retry-After ≥ 1", () => {
    const clock = fakeClock();
    const rl = new RateLimiter(3, clock);
    expect(rl.enabled).toBe(true);
    const burst = [rl.take("k"), rl.take("k"), rl.take("k")];
    expect(burst.map((d) => d.allowed)).toEqual([true, true, true]);
    expect(burst.map((d) => d.remaining)).toEqual([2, 1, 0]);
    for (const d of burst) {
      expect(d.limit).toBe(3);
      expect(d.retryAfterSeconds).toBe(0);
    }
    const denied = rl.take("k");
    expect(denied.allowed).toBe(false);
    expect(denied.remaining).toBe(0);
    expect(Number.isInteger(denied.retryAfterSeconds)).toBe(true);
    expect(denied.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    // 3 per minute: one token every 20 s.
    expect(denied.retryAfterSeconds).toBe(20);
    // Being denied does not consume anything or push the time back.
    expect(rl.take("k").retryAfterSeconds).toBe(20);
  });

  test("refills over time, never above the burst", () => {
    const clock = fakeClock();
    const rl = new RateLimiter(60, clock); // one token per second
    for (let i = 0; i < 60; i++) expect(rl.take("k").allowed).toBe(true);
    expect(rl.take("k").allowed).toBe(false);
    clock.advance(500);
    const half = rl.take("k");
    expect(half.allowed).toBe(false);
    expect(half.retryAfterSeconds).toBe(1);
    clock.advance(500);
    expect(rl.take("k").allowed).toBe(true);
    expect(rl.take("k").allowed).toBe(false);
    clock.advance(5_000);
    const after5 = [1, 2, 3, 4, 5, 6].map(() => rl.take("k").allowed);
    expect(after5).toEqual([true, true, true, true, true, false]);
    // A long pause refills to the burst only.
    clock.advance(3_600_000);
    let allowed = 0;
    while (rl.take("k").allowed) allowed++;
    expect(allowed).toBe(60);
  });

  test("resetSeconds counts down to a full bucket", () => {
    const clock = fakeClock();
    const rl = new RateLimiter(6, clock); // one token per 10 s
    expect(rl.take("k").resetSeconds).toBe(10);
    expect(rl.take("k").resetSeconds).toBe(20);
    for (let i = 0; i < 4; i++) rl.take("k");
    const empty = rl.take("k");
    expect(empty.allowed).toBe(false);
    expect(empty.resetSeconds).toBe(60);
    clock.advance(15_000);
    // 1.5 tokens back: one is taken, 0.5 left, 5.5 missing = 55 s.
    const d = rl.take("k");
    expect(d.allowed).toBe(true);
    expect(d.resetSeconds).toBe(55);
    clock.advance(25_000);
    expect(rl.take("k").resetSeconds).toBe(40); // 3 tokens back, one taken: 2 left, 4 missing
  });

  test("buckets are per key", () => {
    const clock = fakeClock();
    const rl = new RateLimiter(1, clock);
    expect(rl.take("a").allowed).toBe(true);
    expect(rl.take("a").allowed).toBe(false);
    expect(rl.take("b").allowed).toBe(true);
  });

  test("per_minute 0 disables it", () => {
    expect(new RateLimiter(0, fakeClock()).enabled).toBe(false);
  });
});

describe("over HTTP", () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  async function limited(perMinute = 3) {
    const clock = fakeClock();
    h = await harness({ rate_limit: { per_minute: perMinute } }, { clock, autoDispatch: true });
    return { h, clock };
  }

  function rateHeaders(res: Response) {
    return {
      limit: res.headers.get("ratelimit-limit"),
      remaining: res.headers.get("ratelimit-remaining"),
      reset: res.headers.get("ratelimit-reset"),
    };
  }

  test("every /v1 response carries RateLimit-*; the 4th request → 429 with Retry-After", async () => {
    const { h } = await limited();
    const key = await h.key("acme", "viewer");
    const seen: ReturnType<typeof rateHeaders>[] = [];
    // 200, 404 and 422 all count and all carry the headers.
    for (const path of ["/v1/webhooks", "/v1/webhooks/wh_missing", "/v1/webhooks?limit=0"]) {
      const res = await h.call("GET", path, { key });
      expect(res.status).not.toBe(429);
      seen.push(rateHeaders(res));
    }
    expect(seen.map((s) => s.limit)).toEqual(["3", "3", "3"]);
    expect(seen.map((s) => s.remaining)).toEqual(["2", "1", "0"]);
    const resets = seen.map((s) => Number(s.reset));
    for (const r of resets) expect(Number.isInteger(r) && r > 0 && r <= 60).toBe(true);
    expect(resets).toEqual([20, 40, 60]);

    const res = await h.call("GET", "/v1/webhooks", { key });
    await expectError(res, 429, "rate_limited");
    const retry = res.headers.get("retry-after") ?? "";
    expect(retry).toMatch(/^\d+$/);
    expect(Number(retry)).toBeGreaterThanOrEqual(1);
    expect(Number(retry)).toBeLessThanOrEqual(60);
    expect(rateHeaders(res)).toEqual({ limit: "3", remaining: "0", reset: "60" });
    expect(res.headers.get("x-request-id")).toBeTruthy();
  });

  test("buckets are per credential", async () => {
    const { h } = await limited();
    const a = await h.key("acme", "viewer");
    const b = await h.key("acme", "viewer");
    for (let i = 0; i < 3; i++) expect((await h.call("GET", "/v1/webhooks", { key: a })).status).toBe(200);
    expect((await h.call("GET", "/v1/webhooks", { key: a })).status).toBe(429);
    const other = await h.call("GET", "/v1/webhooks", { key: b });
    expect(other.status).toBe(200);
    expect(other.headers.get("ratelimit-remaining")).toBe("2");
    // The same key by the other header shares its bucket.
    expect((await h.call("GET", "/v1/webhooks", { key: null, headers: { "x-api-key": a } })).status).toBe(429);
    // The root key has its own bucket too.
    expect((await h.call("GET", "/v1/webhooks")).status).toBe(200);
  });

  test("failed authentication is counted per client address", async () => {
    const { h } = await limited();
    for (let i = 0; i < 3; i++) {
      const res = await h.call("GET", "/v1/webhooks", { key: `hkl_guess${i}` });
      expect(res.status).toBe(401);
      expect(res.headers.get("ratelimit-remaining")).toBe(String(2 - i));
    }
    const res = await h.call("GET", "/v1/webhooks", { key: "hkl_guess4" });
    await expectError(res, 429, "rate_limited");
    expect(res.headers.get("retry-after") ?? "").toMatch(/^[1-9]\d*$/);
    // No credentials at all count the same way.
    expect((await h.call("GET", "/v1/webhooks", { key: null })).status).toBe(429);
    // A valid key is not punished for someone else's guesses.
    const good = await h.key("acme", "viewer");
    expect((await h.call("GET", "/v1/webhooks", { key: good })).status).toBe(200);
  });

  test("over real sockets, failed attempts from one address do not limit another", async () => {
    const { h } = await limited();
    // Listening on "::" accepts 127.0.0.1 (as ::ffff:127.0.0.1) and ::1: two client addresses.
    h.app.listen({ hostname: "::", port: 0 });
    try {
      const port = h.app.server?.port;
      const get = (host: string, key: string) =>
        fetch(`http://${host}:${port}/v1/webhooks`, { headers: { authorization: `Bearer ${key}` } });
      for (let i = 0; i < 3; i++) expect((await get("127.0.0.1", `hkl_guess${i}`)).status).toBe(401);
      expect((await get("127.0.0.1", "hkl_guess3")).status).toBe(429);
      const v6 = await get("[::1]", "hkl_guess4");
      expect(v6.status).toBe(401);
      expect(v6.headers.get("ratelimit-remaining")).toBe("2");
    } finally {
      await h.app.stop(true);
    }
  });

  test("/healthz, /readyz and /openapi.json are exempt", async () => {
    const { h } = await limited(1);
    for (let i = 0; i < 5; i++) {
      for (const path of ["/healthz", "/readyz", "/openapi.json"]) {
        const res = await h.call("GET", path, { key: i % 2 === 0 ? null : "hkl_bad" });
        expect(res.status).toBe(200);
        expect(res.headers.get("ratelimit-remaining")).toBeNull();
      }
    }
    // The exempt calls did not use up the address's allowance for failed auth.
    expect((await h.call("GET", "/v1/webhooks", { key: null })).status).toBe(401);
    expect((await h.call("GET", "/v1/webhooks", { key: null })).status).toBe(429);
  });

  test("advancing the clock by 60 s lets the key through again", async () => {
    const { h, clock } = await limited();
    const key = await h.key("acme", "viewer");
    for (let i = 0; i < 3; i++) await h.call("GET", "/v1/webhooks", { key });
    const denied = await h.call("GET", "/v1/webhooks", { key });
    expect(denied.status).toBe(429);
    const retry = Number(denied.headers.get("retry-after"));
    clock.advance((retry - 1) * 1000);
    expect((await h.call("GET", "/v1/webhooks", { key })).status).toBe(429);
    clock.advance(1000);
    expect((await h.call("GET", "/v1/webhooks", { key })).status).toBe(200);
    clock.advance(60_000);
    const res = await h.call("GET", "/v1/webhooks", { key });
    expect(res.status).toBe(200);
    expect(res.headers.get("ratelimit-remaining")).toBe("2");
    expect(res.headers.get("ratelimit-reset")).toBe("20");
  });

  test("per_minute 0 never limits", async () => {
    const { h } = await limited(0);
    const key = await h.key("acme", "viewer");
    for (let i = 0; i < 20; i++) expect((await h.call("GET", "/v1/webhooks", { key })).status).toBe(200);
  });
});
