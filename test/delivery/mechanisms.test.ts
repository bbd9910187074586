// The mechanisms behind the benchmark figures, tested for behaviour (not timing): group commit,
// the in-memory hand-off, the per-webhook cap, bounded memory with a dead receiver.
import { describe, expect, test } from "bun:test";
import { Handoff } from "../../src/delivery/handoff.ts";
import { newId } from "../../src/lib/ids.ts";
import type { ClaimedDelivery, IngestResult, NewDelivery } from "../../src/domain/store.ts";
import { cleanupAfterEach, countScans, createEventTypes, createWebhook, publishEvent } from "../support/fixtures.ts";
import { type Harness, harness } from "../support/harness.ts";
import { receiver } from "../support/receiver.ts";

let h: Harness;
const receivers = cleanupAfterEach(() => h);
const open = { allow_http: true, allow_private_networks: true };

/** Reserves room for each delivery, as an ingest does, and queues them. */
function put(handoff: Handoff, deliveries: NewDelivery[]): void {
  for (const d of deliveries) expect(handoff.reserve(d.webhookId)).toBe("ok");
  handoff.add(deliveries);
}

function eventRecord(i: number) {
  const now = Date.now();
  return {
    event: {
      id: newId("evt", now),
      tenantId: "acme",
      type: "member.added",
      payload: JSON.stringify({ i }),
      payloadFormat: "envelope" as const,
      idempotencyKey: null,
      requestHash: null,
      createdAt: now,
    },
    idempotencySince: now,
  };
}

test("group commit: concurrent ingests share one transaction, and none resolves before it is on disk", async () => {
  h = await harness();
  const count = () => h.sqlite.query<{ n: number }, []>("SELECT count(*) AS n FROM events").get()?.n ?? 0;
  const seenAtResolve: number[] = [];
  const all = Array.from({ length: 50 }, (_, i) =>
    h.deps.store.ingest(eventRecord(i)).then((r: IngestResult) => {
      seenAtResolve.push(count());
      return r;
    }),
  );
  expect(count()).toBe(0); // nothing is written synchronously: they wait for the shared commit
  await Promise.all(all);
  // The first caller to hear "committed" already sees all 50: one transaction carried them.
  expect(seenAtResolve[0]).toBe(50);
  expect(seenAtResolve.every((n) => n === 50)).toBe(true);
});

describe("the in-memory hand-off", () => {
  test("deliveries are claimed inside the ingest transaction, up to the per-webhook cap", async () => {
    h = await harness({ security: open, delivery: { per_webhook_concurrency: 3, timeout: 5_000 } }, { autoDispatch: true });
    await createEventTypes(h, ["member.added"]);
    const r = receivers.track(receiver("hang"));
    await createWebhook(h, { tenant_id: "acme", url: `${r.url}/h`, events: ["member.added"] });
    for (let i = 0; i < 10; i++) await publishEvent(h, { tenant_id: "acme", type: "member.added", data: { i } });
    await r.waitFor(3);
    // The pump has run for every offer: a fourth attempt would have been launched by now.
    await h.dispatcher.atRest();
    const states = h.sqlite
      .query<{ status: string; n: number }, []>("SELECT status, count(*) AS n FROM deliveries GROUP BY status")
      .all();
    // 3 sent, 7 held in memory for a free slot: all claimed by their ingest, none searched for.
    expect(Object.fromEntries(states.map((s) => [s.status, s.n]))).toEqual({ delivering: 10 });
    // The cap holds: the hanging receiver never had more than 3 requests.
    expect(r.received).toHaveLength(3);
    expect(h.dispatcher.inFlight).toBe(3);
  });

  test("an ingest that does not commit delivers nothing and gives its slots back", async () => {
    h = await harness({ security: open }, { autoDispatch: true });
    await createEventTypes(h, ["member.added"]);
    const r = receivers.track(receiver(200));
    await createWebhook(h, { tenant_id: "acme", url: `${r.url}/h`, events: ["member.added"] });
    await h.refuseWrites(true); // the commit fails, as on a full disk
    const res = await h.call("POST", "/v1/events", { body: { tenant_id: "acme", type: "member.added", data: {} } });
    expect(res.status).toBe(503);
    // The rollback gave the slot back and asked for a pass: once it ran, nothing was launched.
    await h.dispatcher.atRest();
    expect(r.received).toHaveLength(0);
    expect(h.dispatcher.inFlight).toBe(0);
    await h.refuseWrites(false);
    await publishEvent(h, { tenant_id: "acme", type: "member.added", data: {} });
    await r.waitFor(1);
  });

  test("Handoff bounds each webhook's share, so one receiver's backlog leaves room for the others", () => {
    const handoff = new Handoff(100, 3);
    const rooms = Array.from({ length: 5 }, () => handoff.reserve("wh_a"));
    expect(rooms).toEqual(["ok", "ok", "ok", "webhook", "webhook"]);
    handoff.add(Array.from({ length: 3 }, (_, i) => ({ id: `dlv_a${i}`, webhookId: "wh_a" })));
    put(handoff, [{ id: "dlv_b0", webhookId: "wh_b" }]);
    expect(handoff.size).toBe(4);
    expect(handoff.take(10, 32, new Map()).map((d) => d.id)).toEqual(["dlv_a0", "dlv_b0", "dlv_a1", "dlv_a2"]);
    // Taken deliveries free their room.
    expect(handoff.size).toBe(0);
    expect(handoff.reserve("wh_a")).toBe("ok");
  });

  test("Handoff is bounded: beyond its size there is no room (the database keeps them) and it says so", () => {
    const handoff = new Handoff(5, 5);
    const rooms = Array.from({ length: 8 }, (_, i) => handoff.reserve(i % 2 ? "wh_a" : "wh_b"));
    expect(rooms.filter((r) => r === "ok")).toHaveLength(5);
    expect(rooms.slice(5)).toEqual(["all", "all", "all"]);
    handoff.add(Array.from({ length: 5 }, (_, i) => ({ id: `dlv_${i}`, webhookId: i % 2 ? "wh_a" : "wh_b" })));
    // Takes respect the cap per webhook and alternate between webhooks.
    const taken = handoff.take(10, 2, new Map([["wh_a", 1]]));
    expect(taken.map((d) => d.webhookId).sort()).toEqual(["wh_a", "wh_b", "wh_b"]);
    expect(handoff.size).toBe(2);
    // A reservation whose ingest rolled back gives its room back.
    expect(handoff.reserve("wh_c")).toBe("ok");
    handoff.unreserve("wh_c");
    expect(handoff.size).toBe(2);
  });

  test("Handoff is bounded in payload bytes too, so large events cannot fill memory", () => {
    const perEntry = 1_000 + 512; // payload + the overhead counted per delivery
    const handoff = new Handoff(100, 50, 8 * perEntry); // a quarter of the bytes per webhook: 2 entries
    expect(["wh_a", "wh_a", "wh_a"].map((w) => handoff.reserve(w, 1_000))).toEqual(["ok", "ok", "webhook"]);
    expect(["wh_b", "wh_b", "wh_c", "wh_c", "wh_d", "wh_d"].map((w) => handoff.reserve(w, 1_000))).toEqual(Array(6).fill("ok"));
    expect(handoff.reserve("wh_e", 1_000)).toBe("all");
    // Small payloads still fit where a large one does not.
    handoff.unreserve("wh_d", 1_000);
    expect(handoff.reserve("wh_e", 2_000)).toBe("all");
    expect(handoff.reserve("wh_e", 100)).toBe("ok");
    // Taking a delivery gives its bytes back.
    const payload = "x".repeat(1_000);
    handoff.add([0, 1].map((i) => ({ id: `dlv_a${i}`, webhookId: "wh_a", claim: { delivery: { payload } } }) as unknown as NewDelivery));
    expect(handoff.take(1, 32, new Map())).toHaveLength(1);
    expect(handoff.reserve("wh_a", 1_000)).toBe("ok");
  });

  test("Handoff gives up the deliveries held since before a time, oldest first, and all of them on clear", () => {
    const handoff = new Handoff(100);
    const at = (id: string, webhookId: string, createdAt: number) =>
      ({ id, webhookId, claim: { delivery: { createdAt, payload: "{}" } } }) as unknown as NewDelivery;
    put(handoff, [at("dlv_a0", "wh_a", 10), at("dlv_b0", "wh_b", 30), at("dlv_a1", "wh_a", 20), at("dlv_a2", "wh_a", 40)]);
    expect(handoff.takeOlderThan(25).map((d) => d.id)).toEqual(["dlv_a0", "dlv_a1"]);
    expect(handoff.size).toBe(2);
    expect(handoff.clear().map((d) => d.id).sort()).toEqual(["dlv_a2", "dlv_b0"]);
    expect(handoff.size).toBe(0);
  });

  test("Handoff takes one delivery per webhook in turn, so a burst is spread over receivers", () => {
    const handoff = new Handoff(10_000, 10_000);
    // Three events, each fanned out to webhooks a, b and c (the order an ingest offers them).
    for (let e = 0; e < 3; e++) put(handoff, ["a", "b", "c"].map((w) => ({ id: `dlv_${e}${w}`, webhookId: `wh_${w}` })));
    // 32 per webhook would be allowed; four slots still go to three receivers, not to one.
    expect(handoff.take(4, 32, new Map()).map((d) => d.id)).toEqual(["dlv_0a", "dlv_0b", "dlv_0c", "dlv_1a"]);
    // The next take starts where the last stopped, in each webhook's own order.
    expect(handoff.take(5, 32, new Map()).map((d) => d.id)).toEqual(["dlv_1b", "dlv_1c", "dlv_2a", "dlv_2b", "dlv_2c"]);
    expect(handoff.size).toBe(0);
    // Webhooks with less in flight come first: c has none, a one, b two (then a and b tie).
    put(handoff, ["a", "b", "c", "a", "b", "c"].map((w, i) => ({ id: `dlv_${i}${w}`, webhookId: `wh_${w}` })));
    const busy = new Map([
      ["wh_a", 1],
      ["wh_b", 2],
    ]);
    expect(handoff.take(4, 32, busy).map((d) => d.id)).toEqual(["dlv_2c", "dlv_0a", "dlv_5c", "dlv_1b"]);
    handoff.clear();
    // A long queue read past its compaction point keeps its order.
    put(handoff, Array.from({ length: 3_000 }, (_, i) => ({ id: `dlv_${i}`, webhookId: "wh_a" })));
    const ids = [...handoff.take(1_500, 2_000, new Map()), ...handoff.take(1_500, 2_000, new Map())].map((d) => d.id);
    expect(ids).toEqual(Array.from({ length: 3_000 }, (_, i) => `dlv_${i}`).slice(0, ids.length));
    expect(ids).toHaveLength(3_000);
  });
});

test("claims from the database spread free slots over webhooks, least busy first", async () => {
  h = await harness({ security: open });
  await createEventTypes(h, ["member.added"]);
  const ids: Record<string, string> = {};
  for (const name of ["a", "b", "c"]) {
    ids[name] = (await createWebhook(h, { tenant_id: "acme", url: `http://127.0.0.1:9/${name}`, events: ["member.added"] })).id;
  }
  for (let i = 0; i < 3; i++) await publishEvent(h, { tenant_id: "acme", type: "member.added", data: { i } });
  // a has one attempt in flight, b two, c none: four free slots leave every webhook at 2 or 3
  // (c gets two), where due order alone would give them to a, b, c, a (a 3, b 3, c 1).
  const inflight = new Map([
    [ids.a ?? "", 1],
    [ids.b ?? "", 2],
  ]);
  const claims = await h.deps.store.claimDue(Date.now() + 1_000, { limit: 4, leaseMs: 60_000, perWebhookCap: 32, inflight });
  const per = (id: string | undefined) => claims.filter((c) => c.webhookId === id).length;
  expect(per(ids.c)).toBe(2);
  expect([1 + per(ids.a), 2 + per(ids.b), per(ids.c)].sort()).toEqual([2, 2, 3]);
});

test("a hanging receiver whose backlog fills the hand-off does not starve a fast one", async () => {
  // The hand-off holds 10 deliveries: the hanging webhook's fill it and everything else is
  // found in the database. Each freed slot of the fast webhook must look there at once (not wait
  // for the 1 s timer or the sweep), or its 60 deliveries would take half a minute.
  h = await harness(
    { security: open, delivery: { concurrency: 8, per_webhook_concurrency: 2, timeout: 5_000 } },
    { autoDispatch: true, handoffMax: 10 },
  );
  await createEventTypes(h, ["member.added"]);
  const fast = receivers.track(receiver(200));
  const hang = receivers.track(receiver("hang"));
  await createWebhook(h, { tenant_id: "acme", url: `${hang.url}/hang`, events: ["member.added"] });
  await createWebhook(h, { tenant_id: "acme", url: `${fast.url}/fast`, events: ["member.added"] });
  for (let i = 0; i < 60; i += 10) {
    await Promise.all(Array.from({ length: 10 }, (_, j) => publishEvent(h, { tenant_id: "acme", type: "member.added", data: { n: i + j } })));
  }
  await fast.waitFor(60, 3_000);
  expect(fast.received).toHaveLength(60);
  expect(hang.received.length).toBeLessThanOrEqual(2);
});

test("a hanging receiver's backlog does not make the fast webhook's freed slots search the database", async () => {
  // Hand-off of 8, so 2 per webhook: the hanging webhook's deliveries past its 2 in flight and 2
  // queued are in the database only. The fast webhook's are all claimed by the ingest or held
  // in memory, so its freed slots have no reason to search the database; before, a webhook at
  // its cap kept every freed slot searching (one claim transaction per delivery).
  h = await harness(
    { security: open, delivery: { concurrency: 8, per_webhook_concurrency: 2, timeout: 5_000 } },
    { autoDispatch: true, handoffMax: 8 },
  );
  await createEventTypes(h, ["member.added"]);
  const fast = receivers.track(receiver(200));
  const hang = receivers.track(receiver("hang"));
  await createWebhook(h, { tenant_id: "acme", url: `${hang.url}/hang`, events: ["member.added"] });
  await createWebhook(h, { tenant_id: "acme", url: `${fast.url}/fast`, events: ["member.added"] });
  const scans = countScans(h);
  const publishOne = async (n: number) => {
    await publishEvent(h, { tenant_id: "acme", type: "member.added", data: { n } });
    await fast.waitFor(n + 1, 3_000);
  };
  for (let n = 0; n < 6; n++) await publishOne(n); // the hanging webhook: 2 in flight, 2 queued, 2 dropped
  await h.dispatcher.atRest(); // the scans those publishes caused are all counted before
  const scansBefore = scans.count;
  for (let n = 6; n < 30; n++) await publishOne(n);
  expect(fast.received).toHaveLength(30);
  expect(hang.received).toHaveLength(2);
  expect(scans.count - scansBefore).toBeLessThan(5);
  // The dropped ones are not lost: once the receiver answers, its freed slots find them.
  hang.fallback = 200;
  hang.release();
  await hang.waitFor(30, 3_000);
  expect(hang.received).toHaveLength(30);
});

test("a dead receiver: claims never exceed delivery.concurrency, whatever the backlog", async () => {
  h = await harness({ security: open, delivery: { concurrency: 16, per_webhook_concurrency: 16, retry_schedule: [60_000] } });
  await createEventTypes(h, ["member.added"]);
  const dead = receivers.track(receiver(200));
  const url = `${dead.url}/gone`;
  await dead.stop(); // connection refused from now on
  await createWebhook(h, { tenant_id: "acme", url, events: ["member.added"] });
  const results = await Promise.all(Array.from({ length: 500 }, (_, i) => h.deps.store.ingest(eventRecord(i))));
  expect(results.every((r) => r.kind === "created")).toBe(true);
  const store = h.deps.store;
  const sizes: number[] = [];
  const claimDue = store.claimDue.bind(store);
  store.claimDue = async (now, opts) => {
    const claimed: ClaimedDelivery[] = await claimDue(now, opts);
    sizes.push(claimed.length);
    return claimed;
  };
  let rounds = 0;
  while ((await h.dispatcher.dispatchOnce()) > 0 && rounds < 100) rounds++;
  expect(rounds).toBe(Math.ceil(500 / 16)); // 500 deliveries in batches of at most 16
  expect(Math.max(...sizes)).toBeLessThanOrEqual(16);
  const pending = h.sqlite.query<{ n: number }, []>("SELECT count(*) AS n FROM deliveries WHERE status = 'pending'").get()?.n;
  expect(pending).toBe(500);
});
