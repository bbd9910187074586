// Lists page on the time-sortable id, newest first: a store returns limit + 1 rows (the extra
// one says another page exists) below the cursor, so paging while rows are inserted neither
// skips nor repeats one (API.md §8). The same checks for every list of the port.
import { expect, test } from "bun:test";
import type { PageRequest } from "../../src/domain/pagination.ts";
import type { Store } from "../../src/domain/store.ts";
import { describeEveryStore } from "./describe-store.ts";
import { keyRecord, timeAfterIssuedIds } from "./records.ts";
import { publish, subscribe } from "./steps.ts";

interface ListUnderTest {
  name: string;
  /** Prepares what the rows need (a webhook for its deliveries) and returns how to add one and list. */
  setup(store: Store, t: number): Promise<{ add(at: number): Promise<string>; list(page: PageRequest): Promise<string[]> }>;
}

const LISTS: ListUnderTest[] = [
  {
    name: "webhooks",
    async setup(store) {
      return {
        add: async (at) => (await subscribe(store, { createdAt: at })).id,
        list: async (page) => (await store.listWebhooks(page)).map((w) => w.id),
      };
    },
  },
  {
    name: "events",
    async setup(store) {
      return {
        add: async (at) => (await publish(store, { createdAt: at, type: "order.paid" })).event.id,
        list: async (page) => (await store.listEvents(page)).map((e) => e.id),
      };
    },
  },
  {
    name: "a webhook's deliveries",
    async setup(store, t) {
      const w = await subscribe(store, { createdAt: t });
      return {
        add: async (at) => (await publish(store, { createdAt: at })).deliveries[0]?.id ?? "",
        list: async (page) => (await store.listDeliveries({ ...page, webhookId: w.id })).map((d) => d.id),
      };
    },
  },
  {
    name: "keys",
    async setup(store) {
      return {
        add: async (at) => {
          const k = keyRecord({ createdAt: at });
          await store.insertKey(k);
          return k.id;
        },
        list: async (page) => (await store.listKeys(page)).map((k) => k.id),
      };
    },
  },
];

/** Adds `n` rows at t, t + 1, …; ids oldest first. */
async function addRows(add: (at: number) => Promise<string>, t: number, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push(await add(t + i));
  return ids;
}

describeEveryStore("pagination", (getStore) => {
  for (const l of LISTS) {
    test(`${l.name}: a page is limit + 1 rows, newest first`, async () => {
      const t = timeAfterIssuedIds();
      const { add, list } = await l.setup(getStore(), t);
      const ids = await addRows(add, t + 1, 5);
      expect(await list({ limit: 2 })).toEqual(ids.slice(2).reverse());
      expect(await list({ limit: 10 })).toEqual([...ids].reverse());
    });

    test(`${l.name}: the cursor gives the rows strictly older than it`, async () => {
      const t = timeAfterIssuedIds();
      const { add, list } = await l.setup(getStore(), t);
      const ids = await addRows(add, t + 1, 5);
      expect(await list({ limit: 10, before: ids[3] as string })).toEqual(ids.slice(0, 3).reverse());
      expect(await list({ limit: 10, before: ids[0] as string })).toEqual([]);
    });

    test(`${l.name}: paging while rows are inserted neither skips nor repeats one`, async () => {
      const t = timeAfterIssuedIds();
      const { add, list } = await l.setup(getStore(), t);
      const ids = await addRows(add, t + 1, 7);
      let at = t + 100;
      let rows = await list({ limit: 3 });
      const seen = rows.slice(0, 3);
      for (let pages = 1; rows.length > 3 && pages < 10; pages++) {
        const before = seen[seen.length - 1] as string;
        // Rows added between pages and while a page is read, as other clients would.
        await add(at++);
        [rows] = await Promise.all([list({ limit: 3, before }), add(at++), add(at++)]);
        seen.push(...rows.slice(0, 3));
      }
      expect(seen).toEqual([...ids].reverse());
    });
  }

  test("lists narrowed by tenant page within that tenant only", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const ours: string[] = [];
    for (let i = 0; i < 4; i++) {
      ours.push((await subscribe(store, { createdAt: t + 2 * i })).id);
      await subscribe(store, { createdAt: t + 2 * i + 1, tenantId: "globex" });
    }
    const first = (await store.listWebhooks({ limit: 2, tenantId: "acme" })).map((w) => w.id);
    expect(first).toEqual(ours.slice(1).reverse());
    const second = (await store.listWebhooks({ limit: 2, tenantId: "acme", before: first[1] as string })).map((w) => w.id);
    expect(second).toEqual(ours.slice(0, 2).reverse());
  });

  test("events narrowed by type and tenant, and deliveries by status, page on the same cursor", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const w = await subscribe(store, { createdAt: t, events: ["member.added"] });
    const added: string[] = [];
    for (let i = 0; i < 3; i++) {
      added.push((await publish(store, { createdAt: t + 3 * i })).event.id);
      await publish(store, { createdAt: t + 3 * i + 1, type: "order.paid" });
      await publish(store, { createdAt: t + 3 * i + 2, tenantId: "globex" });
    }
    const events = await store.listEvents({ limit: 1, tenantId: "acme", type: "member.added", before: added[2] as string });
    expect(events.map((e) => e.id)).toEqual(added.slice(0, 2).reverse());
    await store.updateWebhook(w.id, { enabled: false, disabledReason: "manual" }, t + 20, "webhook disabled (manual)");
    const { deliveries } = await publish(store, { createdAt: t + 21, type: "webhook.test" }, { onlyWebhookId: w.id });
    expect((await store.listDeliveries({ webhookId: w.id, status: "pending", limit: 5 })).map((d) => d.id)).toEqual(deliveries.map((d) => d.id));
    const failed = await store.listDeliveries({ webhookId: w.id, status: "failed", limit: 1 });
    expect(failed).toHaveLength(2);
    expect(failed.every((d) => d.status === "failed")).toBe(true);
  });
});
