// Helpers shared by the test files: fake clocks, receiver cleanup, a harness per test, typed JSON
// reads, and the webhook/event calls most delivery tests start with. Everything takes the harness
// as a parameter; a test file keeps its own `h` and wraps these in one-liners where it likes.
// Response shapes are the API's own view types, not copies of them.
import { afterEach, expect } from "bun:test";
import { decodeTime } from "ulid";
import type { Clock } from "../../src/domain/clock.ts";
import type { DeliveryView } from "../../src/domain/deliveries/render.ts";
import type { EventView, PublishedView } from "../../src/domain/events/render.ts";
import { newId } from "../../src/lib/ids.ts";
import type { WebhookView } from "../../src/domain/webhooks/render.ts";
import { type Harness, harness } from "./harness.ts";
import type { Receiver } from "./receiver.ts";

export type { AttemptView, DeliveryView } from "../../src/domain/deliveries/render.ts";
export type { EventView, PublishedView } from "../../src/domain/events/render.ts";
export type { WebhookView } from "../../src/domain/webhooks/render.ts";
export type { Page } from "../../src/domain/pagination.ts";
export type { ErrorBody } from "../../src/api/errors.ts";

export type HarnessOverrides = Parameters<typeof harness>[0];
export type HarnessExtra = Parameters<typeof harness>[1];

/** GET /v1/events/{id}: the event with its deliveries. */
export type EventWithDeliveries = EventView & { deliveries: DeliveryView[] };
/** POST /v1/webhooks: the one response that shows the secret. */
export type CreatedWebhook = WebhookView & { secret: string };

// ---- clocks -------------------------------------------------------------------------------

export interface FakeClock extends Clock {
  set(ms: number): number;
  advance(ms: number): number;
}

/** A clock the test moves; starts at `start` (default: the real time, as signatures need it). */
export function fakeClock(start = Date.now()): FakeClock {
  let t = start;
  return { now: () => t, set: (ms: number) => (t = ms), advance: (ms: number) => (t += ms) };
}

/**
 * A fake clock that starts after the newest id handed out so far. Ids embed their creation time
 * and never go backwards within a process (the ulid factory is shared by every test file of a
 * `bun test` run), and sweeps select by id: starting after the newest id means ids created at
 * the fake time really carry it.
 */
export function fakeClockAfterIssuedIds(): FakeClock {
  const issued = decodeTime(newId("evt").slice("evt_".length));
  return fakeClock(Math.max(Date.now(), issued) + 1_000);
}

// ---- harness and receivers ------------------------------------------------------------------

/**
 * One harness per test, closed after each: call at the top level of a test file, then
 * `const h = await fresh()` inside each test.
 */
export function freshHarnessPerTest(): (overrides?: HarnessOverrides, extra?: HarnessExtra) => Promise<Harness> {
  let current: Harness | undefined;
  afterEach(async () => {
    await current?.close();
    current = undefined;
  });
  return async (overrides, extra) => {
    current = await harness(overrides, extra);
    return current;
  };
}

/** Remembers the receivers a test starts so that `stopAll` (in afterEach) stops every one. */
export interface ReceiverTracker {
  track(r: Receiver): Receiver;
  stopAll(): Promise<void>;
}

export function receiverTracker(): ReceiverTracker {
  const live: Receiver[] = [];
  return {
    track(r) {
      live.push(r);
      return r;
    },
    async stopAll() {
      for (const r of live.splice(0)) await r.stop();
    },
  };
}

/**
 * After each test, closes the harness `current()` returns and stops every receiver tracked
 * meanwhile: `let h: Harness; const { track } = cleanupAfterEach(() => h);` at a file's top level.
 */
export function cleanupAfterEach(current: () => Harness | undefined): ReceiverTracker {
  const receivers = receiverTracker();
  afterEach(async () => {
    await current()?.close();
    await receivers.stopAll();
  });
  return receivers;
}

/** Counts the dispatcher's searches of the database (store.claimDue calls) from now on. */
export function countScans(h: Harness): { readonly count: number } {
  const store = h.deps.store;
  const claimDue = store.claimDue.bind(store);
  const counter = { count: 0 };
  store.claimDue = (now, opts) => {
    counter.count++;
    return claimDue(now, opts);
  };
  return counter;
}

// ---- typed JSON -----------------------------------------------------------------------------

/** The response body as `T` (a cast: the test asserts what matters). */
export async function json<T>(res: Response): Promise<T> {
  return (await res.json()) as T;
}

/** GET `path` and read the body as `T`, whatever the status. */
export async function getJson<T>(h: Harness, path: string, opts: Parameters<Harness["call"]>[2] = {}): Promise<T> {
  return json<T>(await h.call("GET", path, opts));
}

// ---- common calls ---------------------------------------------------------------------------

export const EVENT_TYPES = ["member.added", "member.removed", "invoice.paid"];

/** Creates each event type, expecting 201. */
export async function createEventTypes(h: Harness, names: string[] = EVENT_TYPES): Promise<void> {
  for (const name of names) {
    expect((await h.call("POST", "/v1/event-types", { body: { name } })).status).toBe(201);
  }
}

/** POST /v1/webhooks, expecting 201. */
export async function createWebhook(h: Harness, body: { tenant_id: string; url: string; events: string[] }): Promise<CreatedWebhook> {
  const res = await h.call("POST", "/v1/webhooks", { body });
  expect(res.status).toBe(201);
  return json<CreatedWebhook>(res);
}

/** POST /v1/events, expecting 202. */
export async function publishEvent(h: Harness, body: { tenant_id: string; type: string; data: unknown }): Promise<PublishedView> {
  const res = await h.call("POST", "/v1/events", { body });
  expect(res.status).toBe(202);
  return json<PublishedView>(res);
}

/** The id of the first delivery of an event (the only one where a single webhook matches). */
export async function firstDeliveryId(h: Harness, eventId: string): Promise<string> {
  const ev = await getJson<EventWithDeliveries>(h, `/v1/events/${eventId}`);
  return ev.deliveries[0]?.id as string;
}

/** Publishes and returns the event id with the id of its (first) delivery. */
export async function publishForDelivery(
  h: Harness,
  body: { tenant_id: string; type: string; data: unknown },
): Promise<{ eventId: string; deliveryId: string }> {
  const { id } = await publishEvent(h, body);
  return { eventId: id, deliveryId: await firstDeliveryId(h, id) };
}

/** GET /v1/deliveries/{id}, expecting 200. */
export async function getDelivery(h: Harness, id: string): Promise<DeliveryView> {
  const res = await h.call("GET", `/v1/deliveries/${id}`);
  expect(res.status).toBe(200);
  return json<DeliveryView>(res);
}
