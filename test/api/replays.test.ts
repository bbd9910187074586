// Replay and backfill jobs over HTTP (API.md §14): POST /v1/webhooks/{id}/replay starts a job,
// the replay runner's batches create the deliveries, real loopback receivers get them, and
// GET /v1/webhooks/{id}/replays/{replay_id} shows the progress.
import { describe, expect, test } from "bun:test";
import { ReplayRunner } from "../../src/delivery/replay-runner.ts";
import { createLogger } from "../../src/observability/logger.ts";
import {
  cleanupAfterEach,
  createEventTypes,
  createWebhook,
  type FakeClock,
  fakeClockAfterIssuedIds,
  json,
  publishEvent,
} from "../support/fixtures.ts";
import { expectError, expectInvalid } from "../support/expect-error.ts";
import { type Harness, harness } from "../support/harness.ts";
import { type Receiver, receiver } from "../support/receiver.ts";

let h: Harness;
// Ids carry their creation time and never go backwards in a process, and a replay walks the
// tenant's events by id (db/store/replays.ts): the clock starts after every id issued so far.
let clock: FakeClock;
const { track } = cleanupAfterEach(() => h);

interface ReplayView {
  id: string;
  status: string;
  matched: number;
  created: number;
  skipped: number;
  started_at: string;
  finished_at: string | null;
}

async function setup(overrides: Parameters<typeof harness>[0] = {}) {
  clock = fakeClockAfterIssuedIds();
  h = await harness({ security: { allow_http: true, allow_private_networks: true }, ...overrides }, { autoDispatch: true, clock });
  await createEventTypes(h, ["member.added", "member.removed", "invoice.paid"]);
}

/** A runner on the harness's store, driven pass by pass (the server's runs on its own timer). */
function runner(batchSize = 2) {
  return new ReplayRunner({
    store: h.deps.store,
    clock: h.deps.clock,
    logger: createLogger("silent"),
    wake: () => h.dispatcher.wake(),
    options: { batchSize },
  });
}

async function runToEnd(r: ReplayRunner): Promise<number> {
  for (let passes = 1; passes < 200; passes++) {
    const p = await r.runOnce();
    if (p.progressed === 0 && p.paced === 0) return passes;
    // Paced: the dispatcher has the webhook's backlog to send first.
    if (p.paced > 0) await h.dispatcher.atRest();
  }
  throw new Error("the replay never finished");
}

async function startReplay(webhookId: string, body: Record<string, unknown>, key?: string): Promise<string> {
  const res = await h.call("POST", `/v1/webhooks/${webhookId}/replay`, { body, ...(key ? { key } : {}) });
  expect(res.status).toBe(202);
  const started = await json<{ id: string; status: string }>(res);
  expect(started.status).toBe("running");
  expect(started.id).toMatch(/^rpl_/);
  return started.id;
}

async function replayOf(webhookId: string, id: string): Promise<ReplayView> {
  const res = await h.call("GET", `/v1/webhooks/${webhookId}/replays/${id}`);
  expect(res.status).toBe(200);
  return json<ReplayView>(res);
}

function ids(r: Receiver): string[] {
  return r.received.map((x) => (JSON.parse(x.body) as { id: string }).id);
}

const minutesAgo = (m: number) => new Date(clock.now() - m * 60_000).toISOString();

describe("replay and backfill", () => {
  test("a backfill: events published before the webhook existed reach its receiver, in order; GET shows the progress", async () => {
    await setup();
    const since = minutesAgo(1);
    const published = [];
    for (let i = 0; i < 5; i++) published.push((await publishEvent(h, { tenant_id: "acme", type: "member.added", data: { i } })).id);
    await publishEvent(h, { tenant_id: "acme", type: "invoice.paid", data: {} });
    await publishEvent(h, { tenant_id: "globex", type: "member.added", data: {} });
    const r = track(receiver(200));
    const wh = await createWebhook(h, { tenant_id: "acme", url: `${r.url}/acme`, events: ["member.*"] });
    const id = await startReplay(wh.id, { since });
    expect(await replayOf(wh.id, id)).toMatchObject({ id, status: "running", matched: 0, created: 0, finished_at: null });
    await runToEnd(runner());
    await r.waitFor(5);
    await h.dispatcher.atRest({ drained: true });
    expect(ids(r).sort()).toEqual(published.sort());
    const done = await replayOf(wh.id, id);
    expect(done).toMatchObject({ status: "done", matched: 5, created: 5, skipped: 0 });
    expect(Date.parse(done.finished_at ?? "")).toBeGreaterThanOrEqual(Date.parse(done.started_at));
  });

  test("a replay of events already delivered delivers them again; event_types narrows; another tenant's events never", async () => {
    await setup();
    const since = minutesAgo(1);
    const r = track(receiver(200));
    const wh = await createWebhook(h, { tenant_id: "acme", url: `${r.url}/acme`, events: ["member.*"] });
    const other = track(receiver(200));
    await createWebhook(h, { tenant_id: "globex", url: `${other.url}/globex`, events: ["member.*"] });
    const added = (await publishEvent(h, { tenant_id: "acme", type: "member.added", data: {} })).id;
    const removed = (await publishEvent(h, { tenant_id: "acme", type: "member.removed", data: {} })).id;
    await publishEvent(h, { tenant_id: "globex", type: "member.added", data: {} });
    await r.waitFor(2);
    await other.waitFor(1);
    await h.dispatcher.atRest({ drained: true });

    const all = await startReplay(wh.id, { since });
    await runToEnd(runner());
    await r.waitFor(4);
    await h.dispatcher.atRest({ drained: true });
    expect(ids(r).slice(2).sort()).toEqual([added, removed].sort());
    expect(await replayOf(wh.id, all)).toMatchObject({ status: "done", matched: 2, created: 2 });

    const narrowed = await startReplay(wh.id, { since, event_types: ["member.removed"] });
    await runToEnd(runner());
    await r.waitFor(5);
    await h.dispatcher.atRest({ drained: true });
    expect(ids(r).slice(4)).toEqual([removed]);
    expect(await replayOf(wh.id, narrowed)).toMatchObject({ status: "done", matched: 1, created: 1 });
    // globex's receiver got only its own fresh delivery.
    expect(other.received).toHaveLength(1);
  });

  test("one running replay per webhook (409); another tenant's webhook or replay is 404; a viewer may read, not start", async () => {
    await setup();
    const r = track(receiver(200));
    const wh = await createWebhook(h, { tenant_id: "acme", url: `${r.url}/acme`, events: ["member.added"] });
    const id = await startReplay(wh.id, { since: minutesAgo(5) });
    await expectError(await h.call("POST", `/v1/webhooks/${wh.id}/replay`, { body: { since: minutesAgo(5) } }), 409, "conflict");

    const globexAdmin = await h.key("globex", "admin");
    await expectError(await h.call("POST", `/v1/webhooks/${wh.id}/replay`, { key: globexAdmin, body: { since: minutesAgo(5) } }), 404, "not_found");
    await expectError(await h.call("GET", `/v1/webhooks/${wh.id}/replays/${id}`, { key: globexAdmin }), 404, "not_found");
    const mine = await createWebhook(h, { tenant_id: "globex", url: `${r.url}/globex`, events: ["member.added"] });
    await expectError(await h.call("GET", `/v1/webhooks/${mine.id}/replays/${id}`, { key: globexAdmin }), 404, "not_found");
    await expectError(await h.call("GET", `/v1/webhooks/${wh.id}/replays/rpl_nope`), 404, "not_found");

    const viewer = await h.key("acme", "viewer");
    expect((await h.call("GET", `/v1/webhooks/${wh.id}/replays/${id}`, { key: viewer })).status).toBe(200);
    await expectError(await h.call("POST", `/v1/webhooks/${wh.id}/replay`, { key: viewer, body: { since: minutesAgo(5) } }), 403, "forbidden");

    await runToEnd(runner());
    expect((await replayOf(wh.id, id)).status).toBe("done");
    await startReplay(wh.id, { since: minutesAgo(5) });
  });

  test("bad windows are 422 naming the field: malformed times, until before since, since in the future or over retention.days", async () => {
    await setup({ retention: { days: 7, payload_days: 0 } });
    const r = track(receiver(200));
    const wh = await createWebhook(h, { tenant_id: "acme", url: `${r.url}/acme`, events: ["member.added"] });
    const post = (body: unknown) => h.call("POST", `/v1/webhooks/${wh.id}/replay`, { body });
    await expectInvalid(await post({ since: "yesterday" }), "since");
    await expectInvalid(await post({ since: minutesAgo(10), until: "2026-13-01T00:00:00Z" }), "until");
    await expectInvalid(await post({ since: minutesAgo(10), until: minutesAgo(20) }), "until");
    await expectInvalid(await post({ since: new Date(clock.now() + 3_600_000).toISOString() }), "since");
    await expectInvalid(await post({ since: minutesAgo(8 * 24 * 60) }), "since");
    await expectInvalid(await post({ since: minutesAgo(10), event_types: ["Not A Type"] }), "event_types[0]");
    await expectInvalid(await post({}), "since");
    // None of them started anything.
    await startReplay(wh.id, { since: minutesAgo(6 * 24 * 60) });
  });
});
