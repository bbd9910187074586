// The destination is checked again at delivery time (API.md §10 "URLs"): a host name that
// resolved to a public address when the webhook was created may point inside the network later
// (DNS rebinding). The attempt must then be refused before any request is made.
import { afterEach, describe, expect, test } from "bun:test";
import type { FetchLike } from "../src/delivery/sender.ts";
import type { Resolver } from "../src/domain/destination.ts";
import { createEventTypes, createWebhook, type DeliveryView, fakeClock, getJson, publishForDelivery } from "./support/fixtures.ts";
import { type Harness, harness } from "./support/harness.ts";
import { type Receiver, receiver } from "./support/receiver.ts";

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

async function setup(allowPrivate: boolean) {
  const clock = fakeClock();
  const dns = fakeDns();
  const net = fakeFetch();
  r = receiver(200);
  h = await harness(
    {
      security: { allow_http: true, allow_private_networks: allowPrivate },
      delivery: { retry_schedule: [1_000, 1_000, 1_000, 1_000, 1_000, 1_000, 1_000, 1_000], jitter: 0 },
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
    expect(d.last_error).toStartWith("destination refused:");
    expect(d.last_error).toContain("127.0.0.1");
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
    const cases: { answer: string[] | { code: string }; mentions: string }[] = [
      { answer: ["93.184.215.14", "10.1.2.3"], mentions: "10.1.2.3" },
      { answer: ["::1"], mentions: "::1" },
      { answer: ["::ffff:127.0.0.1"], mentions: "::ffff:127.0.0.1" },
      { answer: ["169.254.169.254"], mentions: "169.254.169.254" },
      { answer: ["100.64.0.1"], mentions: "100.64.0.1" },
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
