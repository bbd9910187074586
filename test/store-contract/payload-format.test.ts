// payload_format (API.md §14) in the store: a type's format is kept, changed and cleared; an
// event's body is kept byte for byte with the format it was built in, and every way a delivery is
// sent (claimed, loaded for a manual retry, recovered) gives those bytes back.
import { expect, test } from "bun:test";
import type { EventRecord } from "../../src/domain/store.ts";
import { newId } from "../../src/lib/ids.ts";
import { describeEveryStore } from "./describe-store.ts";
import { eventRecord, eventTypeRecord, timeAfterIssuedIds } from "./records.ts";
import { claimAll, subscribe } from "./steps.ts";

// What a client may write as `data`: odd spacing and key order, escapes, a number past a double.
const RAW_DATA = '{ "z":1,\n\t"a" : "\\u00e9\\ud83d\\ude00 é😀",  "n":12345678901234567890, "f":1.0 }';

function dataEvent(createdAt: number, f: Partial<EventRecord> = {}): EventRecord {
  return eventRecord({ createdAt, payload: RAW_DATA, payloadFormat: "data", ...f });
}

describeEveryStore("payload format", (getStore) => {
  test("a type's format is read back; null (the configured default) too", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const data = eventTypeRecord({ name: "order.paid", createdAt: t, payloadFormat: "data" });
    const plain = eventTypeRecord({ name: "member.added", createdAt: t });
    await store.insertEventType(data);
    await store.insertEventType(plain);
    expect(await store.getEventType("order.paid")).toEqual(data);
    expect((await store.getEventType("member.added"))?.payloadFormat).toBeNull();
    expect((await store.listEventTypes()).map((r) => [r.name, r.payloadFormat])).toEqual([
      ["member.added", null],
      ["order.paid", "data"],
    ]);
  });

  test("an update sets the format, leaves it when not given, and null clears it", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    await store.insertEventType(eventTypeRecord({ name: "order.paid", createdAt: t }));
    expect((await store.updateEventType("order.paid", { payloadFormat: "data" }, t + 1))?.payloadFormat).toBe("data");
    expect((await store.updateEventType("order.paid", { description: "x" }, t + 2))?.payloadFormat).toBe("data");
    expect((await store.getEventType("order.paid"))?.payloadFormat).toBe("data");
    expect((await store.updateEventType("order.paid", { payloadFormat: null }, t + 3))?.payloadFormat).toBeNull();
    expect((await store.getEventType("order.paid"))?.payloadFormat).toBeNull();
  });

  test("declaring a type sets its format as the file says, and a declaration without one clears it", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    await store.upsertEventTypes([eventTypeRecord({ name: "order.paid", createdAt: t, payloadFormat: "data" })]);
    expect((await store.getEventType("order.paid"))?.payloadFormat).toBe("data");
    await store.upsertEventTypes([eventTypeRecord({ name: "order.paid", createdAt: t + 1 })]);
    expect((await store.getEventType("order.paid"))?.payloadFormat).toBeNull();
  });

  test("a data event keeps its body byte for byte and its format, beside an envelope event", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    await subscribe(store, { createdAt: t });
    const data = dataEvent(t + 1);
    const env = eventRecord({ createdAt: t + 2 });
    for (const event of [data, env]) {
      const res = await store.ingest({ event, idempotencySince: t });
      expect(res).toMatchObject({ kind: "created", event });
    }
    expect(await store.getEvent(data.id)).toEqual(data);
    expect(await store.getEvent(env.id)).toEqual(env);
    expect((await store.getEvent(data.id))?.payload).toBe(RAW_DATA);
    const listed = await store.listEvents({ tenantId: "acme", limit: 10 });
    expect(listed.map((e) => [e.id, e.payloadFormat])).toEqual([
      [env.id, "envelope"],
      [data.id, "data"],
    ]);
  });

  test("claimed, loaded for a manual retry and recovered, a data delivery sends the stored bytes", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const w = await subscribe(store, { createdAt: t });
    const event = dataEvent(t + 1);
    const res = await store.ingest({ event, idempotencySince: t });
    if (res.kind !== "created") throw new Error(res.kind);
    const id = res.deliveries[0]?.id as string;
    const [claimed] = await claimAll(store, t + 1);
    expect(claimed).toMatchObject({ id, payload: RAW_DATA });
    expect((await store.loadForSend(id))?.payload).toBe(RAW_DATA);
    // It fails for good, then recover schedules it again: the same bytes once more.
    await store.recordOutcomes(
      [
        {
          deliveryId: id,
          webhookId: w.id,
          attempt: { startedAt: t + 1, durationMs: 1, statusCode: 500, responseBody: null, error: null },
          manual: false,
          result: "failed",
          nextAttemptAt: null,
          retryStartedAt: t + 1,
          ...(claimed?.claimToken === undefined ? {} : { claimToken: claimed.claimToken }),
        },
      ],
      t + 2,
      86_400_000,
    );
    expect(await store.requeueFailed(w.id, t, t + 3)).toBe(1);
    const [again] = await claimAll(store, t + 3);
    expect(again).toMatchObject({ id, payload: RAW_DATA });
  });

  test("an idempotent replay answers the first event with its format", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const first = dataEvent(t, { idempotencyKey: "k1", requestHash: "h1" });
    expect((await store.ingest({ event: first, idempotencySince: t })).kind).toBe("created");
    const again = dataEvent(t + 1, { id: newId("evt", t + 1), idempotencyKey: "k1", requestHash: "h1" });
    const res = await store.ingest({ event: again, idempotencySince: t });
    expect(res).toMatchObject({ kind: "replay", event: { id: first.id, payload: RAW_DATA, payloadFormat: "data" } });
  });
});
