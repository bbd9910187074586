// confirmHeld and releaseHeld read each webhook once per call, and ask heldRefusal for each
// delivery: a held test event and a held ordinary event of the same disabled webhook, in one
// call, get each their own answer (the test event's exemption is not the webhook's).
import { expect, test } from "bun:test";
import type { NewDelivery, Store } from "../../src/domain/store.ts";
import { describeEveryStore } from "../store-contract/describe-store.ts";
import { timeAfterIssuedIds } from "../store-contract/records.ts";
import { claimHook, deliveryOf, publish, subscribe } from "../store-contract/steps.ts";

/** A webhook subscribed to member.added with one held delivery of it and one held test event, then disabled. */
async function heldPair(store: Store, t: number): Promise<{ testEvent: NewDelivery; ordinary: NewDelivery }> {
  const w = await subscribe(store, { createdAt: t, events: ["member.added"] });
  const { hook } = claimHook("hold", 20_000);
  const testEvent = (await publish(store, { createdAt: t, type: "webhook.test" }, { onlyWebhookId: w.id, claim: hook })).deliveries[0];
  const ordinary = (await publish(store, { createdAt: t, type: "member.added" }, { claim: hook })).deliveries[0];
  if (!testEvent?.claim || !ordinary?.claim) throw new Error("both must be held");
  await store.updateWebhook(w.id, { enabled: false, disabledReason: "manual" }, t + 1, "webhook disabled (manual)");
  return { testEvent, ordinary };
}

describeEveryStore("held deliveries of one disabled webhook", (getStore) => {
  test("confirmHeld: the test event goes, the ordinary one is failed — in either order", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    for (const order of [(p: NewDelivery[]) => p, (p: NewDelivery[]) => [...p].reverse()]) {
      const { testEvent, ordinary } = await heldPair(store, t);
      const confirmed = await store.confirmHeld(order([testEvent, ordinary]), t + 2, 20_000);
      expect(confirmed.map((c) => c.id)).toEqual([testEvent.id]);
      expect(await deliveryOf(store, ordinary.id)).toMatchObject({ status: "failed", lastError: "webhook disabled (manual)" });
    }
  });

  test("releaseHeld: the test event is pending again, the ordinary one failed", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const { testEvent, ordinary } = await heldPair(store, t);
    await store.releaseHeld([testEvent, ordinary], t + 2);
    expect((await deliveryOf(store, testEvent.id)).status).toBe("pending");
    expect(await deliveryOf(store, ordinary.id)).toMatchObject({ status: "failed", lastError: "webhook disabled (manual)" });
  });
});
