// Ingest and the events API (API.md §5, §10): fan-out, validation, idempotency, reads, tenancy.
import { describe, expect, test } from "bun:test";
import { sweepOnce } from "../../src/delivery/sweep.ts";
import { matchesAny } from "../../src/domain/event-patterns.ts";
import {
  cleanupAfterEach,
  createEventTypes,
  createWebhook,
  type EventWithDeliveries,
  type EventView,
  fakeClockAfterIssuedIds as fakeClock,
  getJson,
  type HarnessExtra,
  type HarnessOverrides,
  type Page,
  type PublishedView as Published,
  publishEvent,
} from "../support/fixtures.ts";
import { expectError, expectInvalid } from "../support/expect-error.ts";
import { type Harness, harness } from "../support/harness.ts";

let h: Harness;
cleanupAfterEach(() => h);
// fakeClock here is fakeClockAfterIssuedIds: it starts after the newest id issued so far, since
// ids never go backwards within one `bun test` process and sweeps select by id.

async function setup(overrides: HarnessOverrides = {}, extra: HarnessExtra = {}) {
  h = await harness(overrides, extra);
  await createEventTypes(h);
}

let urlSeq = 0;
function subscribe(events: string[], tenant = "acme") {
  return createWebhook(h, { tenant_id: tenant, url: `https://hooks.example.test/h${++urlSeq}`, events });
}

function publishRaw(body: unknown, opts: { key?: string; headers?: Record<string, string> } = {}) {
  return h.call("POST", "/v1/events", { body, ...opts });
}

function publish(type: string, data: Record<string, unknown> = { n: 1 }, tenant = "acme") {
  return publishEvent(h, { tenant_id: tenant, type, data });
}

function listEvents(query = "tenant=acme") {
  return getJson<Page<EventView>>(h, `/v1/events?${query}`);
}

async function getEvent(id: string, key?: string) {
  return h.call("GET", `/v1/events/${id}`, key === undefined ? {} : { key });
}

describe("POST /v1/events fan-out", () => {
  test("202 shape and counts: exact name, prefix wildcard, `*`; disabled and foreign webhooks get nothing", async () => {
    await setup();
    const exact = await subscribe(["member.added"]);
    const prefix = await subscribe(["member.*"]);
    const star = await subscribe(["*"]);
    const invoices = await subscribe(["invoice.paid"]);
    const disabled = await subscribe(["*"]);
    expect((await h.call("PATCH", `/v1/webhooks/${disabled.id}`, { body: { enabled: false } })).status).toBe(200);
    const foreign = await subscribe(["*"], "other");

    const res = await publishRaw({ tenant_id: "acme", type: "member.added", data: { member_id: "m_1" } });
    expect(res.status).toBe(202);
    const ev = (await res.json()) as Published;
    expect(Object.keys(ev).sort()).toEqual(["created_at", "deliveries", "id", "tenant_id", "type"]);
    expect(ev).toMatchObject({ type: "member.added", tenant_id: "acme", deliveries: 3 });
    expect(ev.id).toMatch(/^evt_[0-9A-Z]{26}$/);
    expect(new Date(ev.created_at).toISOString()).toBe(ev.created_at);

    const full = (await (await getEvent(ev.id)).json()) as EventWithDeliveries;
    expect(full.data).toEqual({ member_id: "m_1" });
    expect(full.deliveries?.map((d) => d.webhook_id).sort()).toEqual([exact.id, prefix.id, star.id].sort());
    expect(full.deliveries?.every((d) => d.status === "pending" && d.event_id === ev.id)).toBe(true);
    for (const w of [invoices, disabled, foreign]) {
      const page = (await (await h.call("GET", `/v1/webhooks/${w.id}/deliveries`)).json()) as Page<unknown>;
      expect(page.data).toHaveLength(0);
    }

    expect((await publish("member.removed")).deliveries).toBe(2);
    expect((await publish("invoice.paid")).deliveries).toBe(2);
    // The other tenant's `*` webhook gets its own tenant's events only.
    expect((await publish("invoice.paid", {}, "other")).deliveries).toBe(1);
  });

  test("`*` never matches webhook.test or hookline.*; the test event reaches only its webhook", async () => {
    expect(matchesAny(["*"], "webhook.test")).toBe(false);
    expect(matchesAny(["*"], "hookline.webhook_disabled")).toBe(false);
    expect(matchesAny(["webhook.test"], "webhook.test")).toBe(true);
    await setup();
    const star = await subscribe(["*"]);
    const target = await subscribe(["member.added"]);
    expect((await h.call("POST", `/v1/webhooks/${target.id}/test`)).status).toBe(202);
    const starPage = (await (await h.call("GET", `/v1/webhooks/${star.id}/deliveries`)).json()) as Page<unknown>;
    expect(starPage.data).toHaveLength(0);
    const tests = await listEvents("tenant=acme&type=webhook.test");
    expect(tests.data).toHaveLength(1);
    const ev = (await (await getEvent(tests.data[0]?.id ?? "")).json()) as EventWithDeliveries;
    expect(ev.deliveries?.map((d) => d.webhook_id)).toEqual([target.id]);
  });
});

describe("POST /v1/events validation", () => {
  test("type: unknown, archived, reserved (webhook.test, hookline.x), malformed → 422 naming type", async () => {
    await setup();
    expect((await h.call("DELETE", "/v1/event-types/invoice.paid")).status).toBe(204);
    for (const type of ["member.nope", "invoice.paid", "webhook.test", "hookline.x", "Not A Type"]) {
      await expectInvalid(await publishRaw({ tenant_id: "acme", type, data: {} }), /^type[:.]/);
    }
    expect((await listEvents()).data).toHaveLength(0);
  });

  test("data must be an object: array, string, null → 422 naming data", async () => {
    await setup();
    for (const data of [[1, 2], "text", null, 5]) {
      await expectInvalid(await publishRaw({ tenant_id: "acme", type: "member.added", data }), /^data[:.]/);
    }
    expect((await listEvents()).data).toHaveLength(0);
  });

  test("a type with a JSON schema validates data: every error starts with `data`", async () => {
    await setup();
    const schema = {
      type: "object",
      required: ["member_id"],
      properties: { member_id: { type: "string" }, age: { type: "integer", minimum: 0 } },
    };
    expect((await h.call("POST", "/v1/event-types", { body: { name: "member.joined", schema } })).status).toBe(201);
    const errors = await expectInvalid(
      await publishRaw({ tenant_id: "acme", type: "member.joined", data: { age: -1 } }),
      /^data[:.]/,
    );
    expect(errors.length).toBeGreaterThanOrEqual(2);
    for (const e of errors) expect(e.startsWith("data")).toBe(true);
    expect(errors.some((e) => e.includes("member_id"))).toBe(true);
    expect(errors.some((e) => e.startsWith("data.age"))).toBe(true);
    const ok = await publishRaw({ tenant_id: "acme", type: "member.joined", data: { member_id: "m", age: 3 } });
    expect(ok.status).toBe(202);
  });

  test("roles and tenant: publisher may, viewer 403; a global key must name tenant_id", async () => {
    await setup();
    const publisher = await h.key("acme", "publisher");
    const viewer = await h.key("acme", "viewer");
    const ok = await publishRaw({ type: "member.added", data: {} }, { key: publisher });
    expect(ok.status).toBe(202);
    expect(((await ok.json()) as Published).tenant_id).toBe("acme");
    const denied = await publishRaw({ type: "member.added", data: {} }, { key: viewer });
    await expectError(denied, 403, "forbidden");
    await expectInvalid(await publishRaw({ type: "member.added", data: {} }), /^tenant_id[:.]/);
    expect((await listEvents("")).data).toHaveLength(1);
  });

  test("a body over server.max_body_bytes → 413 and nothing is stored", async () => {
    await setup({ server: { max_body_bytes: 1_024 } });
    const res = await publishRaw({ tenant_id: "acme", type: "member.added", data: { blob: "x".repeat(2_000) } });
    await expectError(res, 413, "payload_too_large");
    expect((await publishRaw({ tenant_id: "acme", type: "member.added", data: { blob: "x" } })).status).toBe(202);
    expect((await listEvents()).data).toHaveLength(1);
  });
});

describe("idempotency", () => {
  test("same header key → 200 replay with the same id and deliveries, nothing new", async () => {
    await setup();
    const wh = await subscribe(["member.*"]);
    await subscribe(["*"]);
    const body = { tenant_id: "acme", type: "member.added", data: { a: 1, b: [1, 2] } };
    const first = await publishRaw(body, { headers: { "idempotency-key": "k-1" } });
    expect(first.status).toBe(202);
    const original = (await first.json()) as Published;
    expect(original.deliveries).toBe(2);
    // Same request, keys in another order.
    const again = await publishRaw(
      { data: { b: [1, 2], a: 1 }, type: "member.added", tenant_id: "acme" },
      { headers: { "idempotency-key": "k-1" } },
    );
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual(original);
    expect((await listEvents()).data).toHaveLength(1);
    const dl = (await (await h.call("GET", `/v1/webhooks/${wh.id}/deliveries`)).json()) as Page<unknown>;
    expect(dl.data).toHaveLength(1);

    // Body field works the same; both present and equal is fine.
    const viaBody = await publishRaw({ ...body, idempotency_key: "k-1" });
    expect(viaBody.status).toBe(200);
    expect(((await viaBody.json()) as Published).id).toBe(original.id);
    const both = await publishRaw({ ...body, idempotency_key: "k-1" }, { headers: { "idempotency-key": "k-1" } });
    expect(both.status).toBe(200);

    // Different data under the same key → 409; header and body keys differ → 422.
    const conflict = await publishRaw({ ...body, data: { a: 2 } }, { headers: { "idempotency-key": "k-1" } });
    await expectError(conflict, 409, "conflict");
    await expectInvalid(
      await publishRaw({ ...body, idempotency_key: "k-2" }, { headers: { "idempotency-key": "k-3" } }),
      /^idempotency_key[:.]/,
    );
    expect((await listEvents()).data).toHaveLength(1);

    // A body-only key makes a new event the first time, then replays.
    const b1 = await publishRaw({ ...body, idempotency_key: "body-key" });
    expect(b1.status).toBe(202);
    const b2 = await publishRaw({ ...body, idempotency_key: "body-key" });
    expect(b2.status).toBe(200);
    expect(((await b2.json()) as Published).id).toBe(((await b1.json()) as Published).id);

    // The same key in another tenant is a different event.
    const other = await publishRaw({ ...body, tenant_id: "other" }, { headers: { "idempotency-key": "k-1" } });
    expect(other.status).toBe(202);
    expect(((await other.json()) as Published).id).not.toBe(original.id);
    expect((await listEvents()).data).toHaveLength(2);
  });

  test("after events.idempotency_window the key makes a new event; sweepOnce clears expired keys", async () => {
    const clock = fakeClock();
    await setup({ events: { idempotency_window: 60_000 } }, { clock });
    const body = { tenant_id: "acme", type: "member.added", data: { n: 1 } };
    const headers = { "idempotency-key": "window-key" };
    const first = (await (await publishRaw(body, { headers })).json()) as Published;
    clock.advance(59_000);
    expect((await publishRaw(body, { headers })).status).toBe(200);
    clock.advance(2_000);
    const late = await publishRaw(body, { headers });
    expect(late.status).toBe(202);
    const second = (await late.json()) as Published;
    expect(second.id).not.toBe(first.id);
    // The old event keeps its history but no longer owns the key; the new one does.
    const byId = new Map((await listEvents()).data.map((e) => [e.id, e]));
    expect(byId.get(first.id)?.idempotency_key).toBeNull();
    expect(byId.get(second.id)?.idempotency_key).toBe("window-key");

    // Another key, expired and then swept: the key is gone, reuse makes a new event.
    const third = (await (await publishRaw(body, { headers: { "idempotency-key": "swept" } })).json()) as Published;
    const sweepDeps = { ...h.deps, wake: () => {} };
    expect((await sweepOnce(sweepDeps, clock.now())).keysCleared).toBe(0);
    clock.advance(61_000);
    const report = await sweepOnce(sweepDeps, clock.now());
    expect(report.keysCleared).toBe(2);
    const after = new Map((await listEvents()).data.map((e) => [e.id, e]));
    expect(after.get(third.id)?.idempotency_key).toBeNull();
    expect(after.get(second.id)?.idempotency_key).toBeNull();
    const reuse = await publishRaw(body, { headers: { "idempotency-key": "swept" } });
    expect(reuse.status).toBe(202);
    expect(((await reuse.json()) as Published).id).not.toBe(third.id);
  });
});

describe("GET /v1/events", () => {
  test("newest first, type filter, cursor pagination without gaps or repeats", async () => {
    await setup();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await publish(i % 2 === 0 ? "member.added" : "invoice.paid", { i })).id);
    const all = await listEvents();
    expect(all.data.map((e) => e.id)).toEqual([...ids].reverse());
    expect(all.next_cursor).toBeNull();
    expect(all.data[0]?.data).toEqual({ i: 4 });

    const filtered = await listEvents("tenant=acme&type=invoice.paid");
    expect(filtered.data.map((e) => e.id)).toEqual([ids[3] as string, ids[1] as string]);
    await expectInvalid(await h.call("GET", "/v1/events?type=Bad!"), /^type[:.]/);

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: Page<EventView> = await listEvents(`tenant=acme&limit=2${cursor ? `&cursor=${cursor}` : ""}`);
      expect(page.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.data.map((e) => e.id));
      cursor = page.next_cursor;
      pages++;
    } while (cursor !== null && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toEqual([...ids].reverse());
    await expectInvalid(await h.call("GET", "/v1/events?cursor=garbage"), /^cursor[:.]/);
  });

  test("GET /v1/events/{id} has its deliveries; tenants see only their own events", async () => {
    await setup();
    const wh = await subscribe(["member.added"]);
    const mine = await publish("member.added", { who: "acme" });
    const theirs = await publish("member.added", { who: "other" }, "other");
    const res = await getEvent(mine.id);
    expect(res.status).toBe(200);
    const ev = (await res.json()) as EventWithDeliveries;
    expect(ev).toMatchObject({ id: mine.id, type: "member.added", tenant_id: "acme", data: { who: "acme" } });
    expect(ev.deliveries).toHaveLength(1);
    expect(ev.deliveries?.[0]).toMatchObject({ webhook_id: wh.id, event_id: mine.id, status: "pending" });

    const viewer = await h.key("acme", "viewer");
    expect((await getEvent(mine.id, viewer)).status).toBe(200);
    const hidden = await getEvent(theirs.id, viewer);
    await expectError(hidden, 404, "not_found");
    expect((await getEvent("evt_01ARZ3NDEKTSV4RRFFQ69G5FAV")).status).toBe(404);
    expect((await getEvent("not-an-id")).status).toBe(404);

    const listed = (await (await h.call("GET", "/v1/events", { key: viewer })).json()) as Page<EventView>;
    expect(listed.data.map((e) => e.id)).toEqual([mine.id]);
    // The root key sees both, or one tenant with ?tenant=.
    expect((await listEvents("")).data).toHaveLength(2);
    expect((await listEvents("tenant=other")).data.map((e) => e.id)).toEqual([theirs.id]);
  });
});
