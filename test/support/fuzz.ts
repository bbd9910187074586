// Building blocks for test/fuzz.test.ts: a seeded PRNG, hostile values, and a raw sender for
// bodies that are not strings (invalid UTF-8 bytes) over a real loopback socket.
import { maxRequestBodySize } from "../../src/runtime.ts";
import type { Harness } from "./harness.ts";

/** mulberry32: small, fast, and the same sequence for the same seed on every platform. */
export function prng(seed: number) {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number): number => Math.floor(next() * n);
  return {
    next,
    int,
    chance: (p: number): boolean => next() < p,
    pick<T>(items: readonly T[]): T {
      const item = items[int(items.length)];
      if (item === undefined) throw new Error("pick from an empty list");
      return item;
    },
  };
}
export type Rng = ReturnType<typeof prng>;

/** `[[[…1…]]]` or `{"a":{"a":…}}`, `levels` containers deep, built without recursion. */
export function nested(levels: number, kind: "array" | "object" = "array"): string {
  return kind === "array" ? `${"[".repeat(levels)}1${"]".repeat(levels)}` : `${'{"a":'.repeat(levels)}1${"}".repeat(levels)}`;
}

export const HOSTILE_STRINGS: readonly string[] = [
  "",
  " ",
  "\u0000",
  "a\u0000b",
  "\ud800",
  "\udfff\ud800",
  "😀",
  "é€漢字",
  "\u202e\u200b\ufeff",
  "line\r\nX-Injected: 1",
  "\r\n\r\nHTTP/1.1 200 OK",
  "' OR 1=1 --",
  "'; DROP TABLE webhooks; --",
  '" OR ""="',
  "%' AND 1=0 UNION SELECT * FROM api_keys --",
  "../../etc/passwd",
  "..%2F..%2Fetc%2Fpasswd",
  "%00",
  "%FF%FE",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a log4shell-style probe, literally
  "${jndi:ldap://x}",
  "<script>alert(1)</script>",
  "*",
  "member.*",
  "member.added",
  "webhook.test",
  "hookline.*",
  "NaN",
  "-1",
  "1e309",
  "true",
  "null",
  "__proto__",
  "constructor",
  "2026-01-31T00:00:00Z",
  "9999-12-31T23:59:59Z",
  "0000-00-00T00:00:00Z",
  "+275760-09-13T00:00:00.000Z",
  "whsec_",
  "whsec_!!!!",
  `whsec_${Buffer.alloc(32, 7).toString("base64")}`,
];

export const HOSTILE_URLS: readonly string[] = [
  "https://example.com/hook",
  "http://example.com/hook",
  "https://127.0.0.1/",
  "http://[::1]/",
  "https://[::ffff:127.0.0.1]/",
  "https://2130706433/",
  "https://0x7f.1/",
  "https://169.254.169.254/latest/meta-data/",
  "https://user:pass@example.com/",
  "https://example.com:99999/",
  "https://exa mple.com/",
  "https://exämple.com/",
  "https://example.com/\u0000",
  "javascript:alert(1)",
  "file:///etc/passwd",
  "//example.com",
  "https://example.com/?q=' OR 1=1 --",
  "https://example.com/../../etc/passwd",
  "https://xn--/",
];

/** Ids for path parameters; those with a % are sent as they are, the others URI-encoded. */
export const HOSTILE_IDS: readonly string[] = [
  "..%2F..%2Fetc%2Fpasswd",
  "%2e%2e%2f%2e%2e%2f",
  "%00",
  "wh_%00",
  "%FF",
  "%E2%98%83",
  "%252F",
  "' OR 1=1 --",
  "1; DROP TABLE webhooks",
  "wh_",
  "evt_00000000000000000000000000",
  "dlv_ZZZZZZZZZZZZZZZZZZZZZZZZZZ",
  "*",
  "member.added",
  "x".repeat(3000),
];

export const HOSTILE_QUERIES: readonly string[] = [
  "limit=-1",
  "limit=0",
  "limit=101",
  "limit=1e3",
  "limit=NaN",
  "limit=0x10",
  "limit=99999999999999999999",
  "limit=1&limit=2",
  "cursor=%FF",
  "cursor=%00",
  "cursor=..%2F..",
  "cursor=' OR 1=1 --",
  `cursor=${"A".repeat(2000)}`,
  "enabled=maybe",
  "enabled=",
  "event=%00",
  "event=*",
  "status=' OR 1=1 --",
  "tenant=..%2Fx",
  "tenant=*",
  "type=%E2%98%83",
  "%FF=%FF",
  "a[b][c]=1",
];

export const CONTENT_TYPES: readonly string[] = [
  "application/json",
  "application/json; charset=utf-8",
  "APPLICATION/JSON; charset=latin1",
  "application/merge-patch+json",
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=x",
  "application/octet-stream",
  "application/json; charset=utf-16",
  "",
];

export const RAW_BODIES: readonly string[] = [
  "",
  "{",
  "[",
  "nul",
  "\u0000",
  '{"a":1}garbage',
  "\ufeff{}",
  "[]",
  '"just a string"',
  "12345678901234567890e999",
  '{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}}}',
  '{"url":"https://example.com/x","url":"https://example.com/y","events":["*"]}',
  '{"headers":{"__proto__":"x","constructor":"y"},"url":"https://example.com/p","events":["*"]}',
  '{"a":"\\ud800\\udc00\\ud800"}',
  "a=1&b=2",
  "--x\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--x--",
];

/** Invalid UTF-8 inside otherwise plausible JSON: lone continuation, overlong, surrogate, 0xFF. */
export const BAD_UTF8: readonly Uint8Array[] = [
  Uint8Array.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0x80, 0x22, 0x7d]),
  Uint8Array.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc0, 0xaf, 0x22, 0x7d]),
  Uint8Array.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x7d]),
  Uint8Array.from([0xff, 0xfe, 0x7b, 0x00, 0x7d, 0x00]),
  Uint8Array.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xf4, 0x90, 0x80, 0x80, 0x22, 0x7d]),
];

/** A random JSON value of bounded size (depth ≤ 3, ≤ 4 items per level), often the wrong type. */
export function randomJson(r: Rng, depth = 0): unknown {
  const k = r.int(depth >= 3 ? 6 : 8);
  switch (k) {
    case 0:
      return null;
    case 1:
      return r.chance(0.5);
    case 2:
      return r.pick([0, -1, 1.5, -0, 1e308, -1e308, 2 ** 53 + 1, 4294967296]);
    case 3:
    case 4:
    case 5:
      return r.pick(HOSTILE_STRINGS);
    case 6:
      return Array.from({ length: r.int(4) }, () => randomJson(r, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = r.int(4); i > 0; i--) o[r.pick(HOSTILE_STRINGS)] = randomJson(r, depth + 1);
      return o;
    }
  }
}

/** A `headers` field of a webhook: CR/LF, NUL, non-Latin-1, refused names, too many, wrong types. */
export function hostileHeaders(r: Rng): unknown {
  return r.pick<unknown>([
    { "x-a": "b\r\nX-Injected: 1" },
    { "x-a": "line\nfeed" },
    { "x-a": "nul\u0000byte" },
    { "x-a": "€uro" },
    { "x-a": "\ud800" },
    { "x-a": "a".repeat(5000) },
    { Host: "evil.example" },
    { "Webhook-Signature": "v1,forged" },
    { "proxy-authorization": "x" },
    { "bad name": "x" },
    { "": "x" },
    { "x\r\ny": "z" },
    { constructor: "ok", toString: "ok" },
    { "X-A": "1", "x-a": "2" },
    Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`x-h${i}`, "v"])),
    { "x-a": 1 },
    ["x-a", "b"],
    "x-a: b",
    randomJson(r),
  ]);
}

/** A second server around the harness app, same limits, for byte bodies h.call cannot send. */
export function rawSender(h: Harness) {
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    maxRequestBodySize: maxRequestBodySize(h.deps.config),
    fetch: (req) => h.app.handle(req),
  });
  return {
    send: (method: string, path: string, headers: Record<string, string>, body: Uint8Array | ReadableStream) =>
      fetch(`${server.url.origin}${path}`, { method, headers, body }),
    stop: () => server.stop(true),
  };
}

/** `{"data":"xxx…"}` of about `bytes` bytes as a stream of 16 KiB chunks: chunked, no content-length. */
export function chunkedBody(bytes: number): ReadableStream<Uint8Array> {
  const whole = new TextEncoder().encode(`{"data":"${"x".repeat(Math.max(0, bytes - 11))}"}`);
  let at = 0;
  return new ReadableStream({
    pull(c) {
      if (at >= whole.byteLength) return c.close();
      c.enqueue(whole.subarray(at, at + 16_384));
      at += 16_384;
    },
  });
}
