// Event types: read on every publish, changed by the API and declared in the config file.
import { expect, test } from "bun:test";
import { describeEveryStore } from "./describe-store.ts";
import { eventTypeRecord, timeAfterIssuedIds } from "./records.ts";

const schema = { type: "object", required: ["user_id"], properties: { user_id: { type: "string" } } };

describeEveryStore("event types", (getStore) => {
  test("a type inserted is read back field for field, its JSON Schema as an object", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const typed = eventTypeRecord({ name: "member.added", createdAt: t, description: "A member joined", schema });
    const plain = eventTypeRecord({ name: "member.removed", createdAt: t });
    expect(await store.insertEventType(typed)).toEqual({ ok: true });
    expect(await store.insertEventType(plain)).toEqual({ ok: true });
    expect(await store.getEventType("member.added")).toEqual(typed);
    expect(await store.getEventType("member.removed")).toEqual(plain);
  });

  test("an unknown name finds nothing", async () => {
    expect(await getStore().getEventType("member.added")).toBeUndefined();
  });

  test("a type created after a lookup missed it is found at once (publish, 422, create, publish again)", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    expect(await store.getEventType("member.added")).toBeUndefined();
    await store.insertEventType(eventTypeRecord({ name: "member.added", createdAt: t }));
    expect((await store.getEventType("member.added"))?.name).toBe("member.added");
    expect(await store.getEventType("order.paid")).toBeUndefined();
    await store.upsertEventTypes([eventTypeRecord({ name: "order.paid", createdAt: t })]);
    expect((await store.getEventType("order.paid"))?.name).toBe("order.paid");
  });

  test("a second type of the same name is a duplicate, and the first stays as it was", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const first = eventTypeRecord({ name: "member.added", createdAt: t, description: "first" });
    await store.insertEventType(first);
    const again = eventTypeRecord({ name: "member.added", createdAt: t + 1, description: "second" });
    expect(await store.insertEventType(again)).toEqual({ ok: false, reason: "duplicate" });
    expect(await store.getEventType("member.added")).toEqual(first);
  });

  test("the list holds every type, archived ones too, by name", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    for (const name of ["order.paid", "member.added", "invoice.sent"]) {
      await store.insertEventType(eventTypeRecord({ name, createdAt: t, archived: name === "invoice.sent" }));
    }
    expect((await store.listEventTypes()).map((e) => e.name)).toEqual(["invoice.sent", "member.added", "order.paid"]);
  });

  test("an update changes only the fields given, moves updatedAt, and returns the type as now stored", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const before = eventTypeRecord({ name: "member.added", createdAt: t, description: "old", schema });
    await store.insertEventType(before);
    const after = await store.updateEventType("member.added", { description: "new" }, t + 10);
    expect(after).toEqual({ ...before, description: "new", updatedAt: t + 10 });
    expect(await store.getEventType("member.added")).toEqual(after);
  });

  test("an update can clear the schema and archive the type; the next read sees it (no stale cache)", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    await store.insertEventType(eventTypeRecord({ name: "member.added", createdAt: t, schema }));
    expect((await store.getEventType("member.added"))?.archived).toBe(false);
    await store.updateEventType("member.added", { schema: null, archived: true }, t + 1);
    expect(await store.getEventType("member.added")).toMatchObject({ schema: null, archived: true });
  });

  test("updating an unknown type returns undefined and creates nothing", async () => {
    const store = getStore();
    expect(await store.updateEventType("member.added", { description: "x" }, timeAfterIssuedIds())).toBeUndefined();
    expect(await store.listEventTypes()).toEqual([]);
  });

  test("types declared in the config file are created when new", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const declared = [eventTypeRecord({ name: "member.added", createdAt: t, schema }), eventTypeRecord({ name: "order.paid", createdAt: t })];
    await store.upsertEventTypes(declared);
    expect(await store.listEventTypes()).toEqual(declared);
  });

  test("declaring an existing type updates description and schema, un-archives it, and keeps createdAt", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    await store.insertEventType(eventTypeRecord({ name: "member.added", createdAt: t, description: "old" }));
    await store.updateEventType("member.added", { archived: true }, t + 1);
    await store.upsertEventTypes([eventTypeRecord({ name: "member.added", createdAt: t + 5, description: "from the file", schema })]);
    expect(await store.getEventType("member.added")).toEqual(
      eventTypeRecord({ name: "member.added", createdAt: t, updatedAt: t + 5, description: "from the file", schema }),
    );
  });

  test("declaring no types changes nothing", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const existing = eventTypeRecord({ name: "member.added", createdAt: t });
    await store.insertEventType(existing);
    await store.upsertEventTypes([]);
    expect(await store.listEventTypes()).toEqual([existing]);
  });
});
