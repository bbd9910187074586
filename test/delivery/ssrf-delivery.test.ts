// The destination is checked again at delivery time (API.md §10 "URLs"): a host name that
// resolved to a public address when the webhook was created may point inside the network later
// (DNS rebinding). The attempt must then be refused before any request is made.
import { afterEach, describe, expect, test } from "bun:test";
import type { FetchLike } from "../../src/delivery/sender.ts";
import type { Resolver } from "../../src/domain/destination.ts";
import { createEventTypes, createWebhook, type DeliveryView, fakeClock, getJson, publishForDelivery } from "../support/fixtures.ts";
import { type Harness, harness } from "../support/harness.ts";
import { type Receiver, receiver } from "../support/receiver.ts";

const HOST = "hooks.example.test";
const PUBLIC = ["93.184.215.14"];

let h: Harness;
let r: Receiver;
afterEach(async () => {
  await h?.close();
  await r?.stop();
});

/** DNS the test controls: answers (or fails with `code`) as told, and records every question. */
interface FakeDns {
  answer: string[] | { code: string };
  asked: string[];
  resolver: Resolver;
}
function fakeDns(): FakeDns {
  const dns: FakeDns = {
    answer: PUBLIC,
    asked: [],
    resolver: async (hostname) => {
      dns.asked.push(hostname);
      const a = dns.answer;
      if (Array.isArray(a)) return [...a];
      throw Object.assign(new Error(`lookup ${hostname} failed`), { code: a.code });
    },
  };
  return dns;
}

/**
 * Stands in for the network: records every request; "fail" throws, "forward" sends it to the
 * loopback receiver (as if the name had resolved there) so a permitted attempt really arrives.
 */
interface FakeNet {
  mode: "fail" | "forward";
  calls: string[];
  fetch: FetchLike;
}
function fakeFetch(): FakeNet {
  const net: FakeNet = {
    mode: "fail",
    calls: [],
    fetch: async (url, init) => {
      net.calls.push(url);
      if (net.mode === "fail") throw new Error("the network must not be used for a refused destination");
      const u = new URL(url);
      u.hostname = "127.0.0.1";
      return fetch(u.href, init);
    },
  };
  return net;
}

async function setup(allowPrivate: boolean, security: Record<string, unknown> = {}) {
  const clock = fakeClock();
  const dns = fakeDns();
  const net = fakeFetch();
  r = receiver(200);
  h = await harness(
    {
      security: { allow_http: true, allow_private_networks: allowPrivate, ...security },
      delivery: { retry_schedule: Array.from({ length: 12 }, () => 1_000), jitter: 0 },
    },
    { clock, resolver: dns.resolver, fetch: net.fetch },
  );
  await createEventTypes(h, ["member.added"]);
  const port = new URL(r.url).port;
  const url = `http://${HOST}:${port}/x`;
  const wh = await createWebhook(h, { tenant_id: "acme", url, events: ["member.added"] });
  const { deliveryId } = await publishForDelivery(h, { tenant_id: "acme", type: "member.added", data: { n: 1 } });
  return { clock, dns, net, url, webhookId: wh.id, deliveryId };
}

function delivery(id: string) {
  return getJson<DeliveryView>(h, `/v1/deliveries/${id}`);
}

describe("delivery-time destination check (allow_private_networks = false)", () => {
  test("a name that now resolves to loopback is refused before any request; later it is delivered", async () => {
    const s = await setup(false);
    // Creation asked DNS and got a public address.
    expect(s.dns.asked).toEqual([HOST]);
    s.dns.answer = ["127.0.0.1"];
    s.dns.asked = [];

    expect(await h.dispatcher.dispatchOnce()).toBe(1);
    expect(s.dns.asked).toEqual([HOST]);
    expect(s.net.calls).toEqual([]);
    expect(r.received).toHaveLength(0);
    let d = await delivery(s.deliveryId);
    expect(d).toMatchObject({ status: "pending", attempts_count: 1, last_status_code: null });
    // The tenant reads last_error: it says why, never where the name now points.
    expect(d.last_error).toBe(
      `destination refused: host '${HOST}': destination not allowed (it resolves to a private or loopback address); set security.allow_private_networks to allow it`,
    );
    expect(d.attempts).toHaveLength(1);
    expect(d.attempts?.[0]).toMatchObject({ n: 1, status_code: null, response_body: null });
    expect(d.attempts?.[0]?.error).toStartWith("destination refused:");
    // Retryable: scheduled again like any failed attempt.
    expect(Date.parse(d.next_attempt_at as string)).toBe(s.clock.now() + 1_000);

    // A manual retry goes through the same check.
    expect((await h.call("POST", `/v1/deliveries/${s.deliveryId}/retry`)).status).toBe(202);
    await h.dispatcher.dispatchOnce();
    d = await delivery(s.deliveryId);
    expect(d).toMatchObject({ status: "pending", attempts_count: 2 });
    expect(d.attempts?.[1]?.error).toStartWith("destination refused:");
    expect(s.net.calls).toEqual([]);
    expect(r.received).toHaveLength(0);

    // The name points outside again: the next attempt is sent (and arrives) as usual.
    s.dns.answer = PUBLIC;
    s.net.mode = "forward";
    s.clock.advance(1_000);
    expect(await h.dispatcher.dispatchOnce()).toBe(1);
    // Pinned: the request goes to the address that was checked, not to a second lookup, and
    // still presents the webhook's host name.
    const pinnedUrl = new URL(s.url);
    pinnedUrl.hostname = PUBLIC[0] as string;
    expect(s.net.calls).toEqual([pinnedUrl.href]);
    expect(r.received).toHaveLength(1);
    expect(r.received[0]?.path).toBe("/x");
    expect(r.received[0]?.headers.host).toBe(new URL(s.url).host);
    d = await delivery(s.deliveryId);
    expect(d).toMatchObject({ status: "succeeded", attempts_count: 3, last_status_code: 200, last_error: null });
  });

  test("every private answer is refused: mixed records, v6 loopback, mapped v4, metadata address, no answer", async () => {
    const s = await setup(false);
    const NOT_ALLOWED = "destination not allowed (it resolves to a private or loopback address)";
    const cases: { answer: string[] | { code: string }; mentions: string }[] = [
      { answer: ["93.184.215.14", "10.1.2.3"], mentions: NOT_ALLOWED },
      { answer: ["::1"], mentions: NOT_ALLOWED },
      { answer: ["::ffff:127.0.0.1"], mentions: NOT_ALLOWED },
      { answer: ["169.254.169.254"], mentions: NOT_ALLOWED },
      { answer: ["100.64.0.1"], mentions: NOT_ALLOWED },
      { answer: ["64:ff9b::7f00:1"], mentions: NOT_ALLOWED },
      { answer: ["2002:7f00:1::"], mentions: NOT_ALLOWED },
      { answer: [], mentions: "does not resolve" },
      { answer: { code: "ENOTFOUND" }, mentions: "does not resolve" },
      { answer: { code: "ETIMEOUT" }, mentions: "timed out" },
    ];
    for (const [i, c] of cases.entries()) {
      s.dns.answer = c.answer;
      expect(await h.dispatcher.dispatchOnce()).toBe(1);
      const d = await delivery(s.deliveryId);
      expect(d).toMatchObject({ status: "pending", attempts_count: i + 1, last_status_code: null });
      expect(d.last_error).toStartWith("destination refused:");
      expect(d.last_error).toContain(c.mentions);
      // Never the address the name resolved to.
      for (const a of Array.isArray(c.answer) ? c.answer : []) expect(d.last_error).not.toContain(a);
      s.clock.advance(1_000);
    }
    expect(s.net.calls).toEqual([]);
    expect(r.received).toHaveLength(0);
  });
});

test("with allow_private_networks = true nothing is checked at delivery time", async () => {
  const s = await setup(true);
  s.dns.answer = ["127.0.0.1"];
  s.net.mode = "forward";
  expect(await h.dispatcher.dispatchOnce()).toBe(1);
  expect(s.net.calls).toEqual([s.url]);
  expect(r.received).toHaveLength(1);
  expect((await delivery(s.deliveryId)).status).toBe("succeeded");
});

describe("delivery-time check against bypass forms (issue 15, item 4)", () => {
  test("private networks allowed, loopback denied: a name now answering 0.0.0.0, ::, NAT64 or 6to4 loopback is refused", async () => {
    // The operator's intent: internal receivers yes, this host no. Creation saw a public address.
    const s = await setup(true, { deny_cidrs: ["127.0.0.0/8", "::1/128"] });
    const cases: [string, string][] = [
      ["0.0.0.0", "it resolves to 0.0.0.0/8 or ::, which reach this host itself"],
      ["::", "it resolves to 0.0.0.0/8 or ::, which reach this host itself"],
      ["64:ff9b::7f00:1", "it resolves to an address in security.deny_cidrs"],
      ["2002:7f00:1::", "it resolves to an address in security.deny_cidrs"],
      ["::ffff:127.0.0.1", "it resolves to an address in security.deny_cidrs"],
    ];
    for (const [i, [answer, reason]] of cases.entries()) {
      s.dns.answer = [answer];
      expect(await h.dispatcher.dispatchOnce()).toBe(1);
      const d = await delivery(s.deliveryId);
      expect(d).toMatchObject({ status: "pending", attempts_count: i + 1, last_status_code: null });
      expect(d.last_error).toBe(`destination refused: host '${HOST}': destination not allowed (${reason})`);
      s.clock.advance(1_000);
    }
    expect(s.net.calls).toEqual([]);
    expect(r.received).toHaveLength(0);

    // An internal address is what private networks are allowed for: sent, to that address.
    s.dns.answer = ["10.20.30.40"];
    s.net.mode = "forward";
    expect(await h.dispatcher.dispatchOnce()).toBe(1);
    const pinned = new URL(s.url);
    pinned.hostname = "10.20.30.40";
    expect(s.net.calls).toEqual([pinned.href]);
    expect(r.received).toHaveLength(1);
    expect((await delivery(s.deliveryId)).status).toBe("succeeded");
  });

  test("a stored URL naming 0.0.0.0 is refused at delivery even with private networks allowed (no request reaches this host)", async () => {
    // The real network this time: 0.0.0.0 reaches a receiver bound to 127.0.0.1 on Linux, which
    // is what the rule prevents. A webhook stored before the rule existed is simulated by
    // rewriting its URL in the database.
    r = receiver(200);
    h = await harness({ security: { allow_http: true, allow_private_networks: true } }, { clock: fakeClock() });
    await createEventTypes(h, ["member.added"]);
    const port = new URL(r.url).port;
    const wh = await createWebhook(h, { tenant_id: "acme", url: `http://127.0.0.1:${port}/x`, events: ["member.added"] });
    h.sqlite.query("UPDATE webhooks SET url = ?, updated_at = updated_at + 1 WHERE id = ?").run(`http://0.0.0.0:${port}/x`, wh.id);
    const { deliveryId } = await publishForDelivery(h, { tenant_id: "acme", type: "member.added", data: { n: 1 } });
    expect(await h.dispatcher.dispatchOnce()).toBe(1);
    const d = await delivery(deliveryId);
    expect(d).toMatchObject({ status: "pending", attempts_count: 1, last_status_code: null });
    expect(d.last_error).toBe("destination refused: 0.0.0.0 is never allowed: 0.0.0.0/8 and :: reach this host itself");
    // The receiver would have answered: its own request count is the proof nothing was sent.
    const probe = await fetch(`http://127.0.0.1:${port}/probe`);
    expect(probe.status).toBe(200);
    expect(r.received.map((x) => x.path)).toEqual(["/probe"]);
  });
});
