// What a webhook's failure_count (and its stats' consecutive_failures) counts: deliveries that
// ran out of retries or were answered 410, since the last successful attempt or re-enable — not
// attempts. README "Debugging a delivery" and the OpenAPI descriptions say so; this holds them to it.
import { expect, test } from "bun:test";
import {
  cleanupAfterEach,
  createEventTypes,
  createWebhook,
  fakeClockAfterIssuedIds as fakeClock,
  getDelivery,
  getJson,
  publishForDelivery,
  type WebhookView,
} from "../support/fixtures.ts";
import { type Harness, harness } from "../support/harness.ts";
import { receiver } from "../support/receiver.ts";

let h: Harness;
const { track } = cleanupAfterEach(() => h);

interface Stats {
  attempts: number;
  succeeded: number;
  failed: number;
  consecutive_failures: number;
  failing_since: string | null;
}

test("failure_count counts deliveries that ran out of retries or got 410, not attempts; a success or re-enable resets it", async () => {
  const clock = fakeClock();
  h = await harness(
    { security: { allow_http: true, allow_private_networks: true }, delivery: { retry_schedule: [1_000, 1_000], jitter: 0 } },
    { clock },
  );
  await createEventTypes(h);
  const r = track(receiver(500));
  const wh = await createWebhook(h, { tenant_id: "acme", url: `${r.url}/hook`, events: ["member.added"] });
  const health = async () => {
    const w = await getJson<WebhookView>(h, `/v1/webhooks/${wh.id}`);
    const s = await getJson<Stats>(h, `/v1/webhooks/${wh.id}/stats`);
    expect(s.consecutive_failures).toBe(w.failure_count);
    return { failure_count: w.failure_count, attempts: s.attempts, failed: s.failed, failing: s.failing_since !== null };
  };
  const publish = () => publishForDelivery(h, { tenant_id: "acme", type: "member.added", data: { n: 1 } });

  // Three failed attempts of one delivery: retried twice, then failed. One delivery, so 1.
  const d = await publish();
  await h.dispatcher.dispatchOnce();
  expect(await health()).toEqual({ failure_count: 0, attempts: 1, failed: 1, failing: true });
  clock.advance(1_000);
  await h.dispatcher.dispatchOnce();
  expect(await health()).toEqual({ failure_count: 0, attempts: 2, failed: 2, failing: true });
  clock.advance(1_000);
  await h.dispatcher.dispatchOnce();
  expect((await getDelivery(h, d.deliveryId)).status).toBe("failed");
  expect(await health()).toEqual({ failure_count: 1, attempts: 3, failed: 3, failing: true });

  // A manual retry that fails is one more attempt, not one more failed delivery.
  expect((await h.call("POST", `/v1/deliveries/${d.deliveryId}/retry`)).status).toBe(202);
  await h.dispatcher.dispatchOnce(0);
  expect(await health()).toEqual({ failure_count: 1, attempts: 4, failed: 4, failing: true });

  // Any successful attempt (here another delivery) resets it.
  r.answers.push(200);
  await publish();
  await h.dispatcher.dispatchOnce();
  expect(await health()).toEqual({ failure_count: 0, attempts: 5, failed: 4, failing: false });

  // 410 Gone ends a delivery at once: it counts, and the webhook is disabled.
  r.answers.push(410);
  await publish();
  await h.dispatcher.dispatchOnce();
  expect(await health()).toEqual({ failure_count: 1, attempts: 6, failed: 5, failing: true });
  expect(await getJson<WebhookView>(h, `/v1/webhooks/${wh.id}`)).toMatchObject({ enabled: false, disabled_reason: "gone" });

  // Re-enabling starts from zero.
  expect((await h.call("PATCH", `/v1/webhooks/${wh.id}`, { body: { enabled: true } })).status).toBe(200);
  expect(await health()).toEqual({ failure_count: 0, attempts: 6, failed: 5, failing: false });

  // A delivery failed because its webhook was disabled did not run out of retries: not counted.
  const cut = await publish();
  await h.dispatcher.dispatchOnce();
  expect((await h.call("PATCH", `/v1/webhooks/${wh.id}`, { body: { enabled: false } })).status).toBe(200);
  expect(await getDelivery(h, cut.deliveryId)).toMatchObject({ status: "failed", attempts_count: 1 });
  expect(await health()).toEqual({ failure_count: 0, attempts: 7, failed: 6, failing: true });
});
