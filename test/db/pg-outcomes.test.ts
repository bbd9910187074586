// PostgreSQL outcomes under fencing: an outcome whose claim was lost (its lease ran out and
// another replica claimed the delivery) is dropped whole — no state, no attempt, no event —
// while the current claim's outcome is written; operational events are emitted once however
// many replicas report; a batch naming one delivery twice writes it once, its attempts in turn.
import { afterEach, beforeEach, expect } from "bun:test";
import type { ClaimedDelivery, ClaimOptions } from "../../src/domain/store.ts";
import { attemptOutcome, eventRecord, timeAfterIssuedIds, webhookRecord } from "../store-contract/records.ts";
import { describePostgres, postgresTest } from "../support/postgres.ts";
import { attemptCount, countEvents, deliveryRow, type HotPathDatabase, hotPathDatabase, insertWebhook, type Replica } from "./pg-hot-paths-rig.ts";

const DISABLE_AFTER = 3 * 86_400_000;
const all = (over: Partial<ClaimOptions> = {}): ClaimOptions => ({ limit: 1_000, leaseMs: 1_000, perWebhookCap: 1_000, inflight: new Map(), ...over });

/** One delivery of a new webhook, claimed by `r` at `t`. */
async function claimedBy(db: HotPathDatabase, r: Replica, t: number): Promise<ClaimedDelivery> {
  await insertWebhook(db.admin, webhookRecord({ createdAt: t }));
  await r.ingest({ event: eventRecord({ createdAt: t }), idempotencySince: t });
  const [c] = await r.claims.claimDue(t, all());
  if (c === undefined) throw new Error("nothing claimed");
  return c;
}

/** `c`'s lease runs out and `other` claims the delivery again: `c`'s claim is lost. */
async function stolen(other: Replica, c: ClaimedDelivery, t: number): Promise<ClaimedDelivery> {
  expect(await other.claims.recoverExpiredLeases(t + 1_000)).toBe(1);
  const [again] = await other.claims.claimDue(t + 1_000, all({ leaseMs: 30_000 }));
  expect(again?.id).toBe(c.id);
  return again as ClaimedDelivery;
}

const withToken = (c: ClaimedDelivery, f: Parameters<typeof attemptOutcome>[1]) => ({ ...attemptOutcome(c, f), claimToken: c.claimToken as string });

describePostgres("PostgreSQL outcomes", () => {
  let db: HotPathDatabase;
  beforeEach(async () => {
    db = await hotPathDatabase();
  });
  afterEach(() => db.close());

  postgresTest("an outcome with a stale claim token is dropped; the current claim's outcome is written", async () => {
    const a = db.replica("a", "caller");
    const b = db.replica("b", "caller");
    const t = timeAfterIssuedIds();
    const first = await claimedBy(db, a, t);
    const second = await stolen(b, first, t);
    // b's attempt answers first; a's late answer (a failure that would exhaust it) comes after.
    await b.outcomes.recordOutcomes([withToken(second, { at: t + 1_001 })], t + 1_002, DISABLE_AFTER);
    await a.outcomes.recordOutcomes([withToken(first, { at: t + 1, result: "failed", statusCode: 500 })], t + 1_003, DISABLE_AFTER);
    expect(await deliveryRow(db.admin, first.id)).toMatchObject({ status: "succeeded", attemptsCount: 1, lastStatusCode: 200, updatedAt: t + 1_002 });
    expect(await attemptCount(db.admin, first.id)).toBe(1);
    expect(await countEvents(db.admin, "hookline.delivery.exhausted")).toBe(0);
    const [w] = await db.admin.query<{ failure_count: number }>("SELECT failure_count FROM webhooks WHERE id = $1", [first.webhookId]);
    expect(w?.failure_count).toBe(0);
  });

  postgresTest("the lost claim's outcome is dropped even when it comes first: the current claim still owns the delivery", async () => {
    const a = db.replica("a", "caller");
    const b = db.replica("b", "caller");
    const t = timeAfterIssuedIds();
    const first = await claimedBy(db, a, t);
    const second = await stolen(b, first, t);
    await a.outcomes.recordOutcomes([withToken(first, { at: t + 1 })], t + 1_001, DISABLE_AFTER);
    expect(await deliveryRow(db.admin, first.id)).toMatchObject({ status: "delivering", attemptsCount: 0, claimToken: second.claimToken });
    await b.outcomes.recordOutcomes([withToken(second, { at: t + 1_001, result: "retry", nextAttemptAt: t + 5_000 })], t + 1_002, DISABLE_AFTER);
    expect(await deliveryRow(db.admin, first.id)).toMatchObject({ status: "pending", attemptsCount: 1, nextAttemptAt: t + 5_000, claimToken: null });
  });

  postgresTest("the same outcome reported twice (or by two replicas) is written once: one attempt, one exhausted event", async () => {
    const a = db.replica("a", "caller");
    const b = db.replica("b", "caller");
    const t = timeAfterIssuedIds();
    const c = await claimedBy(db, a, t);
    const o = withToken(c, { at: t + 1, result: "failed", statusCode: 500 });
    await Promise.all([a.outcomes.recordOutcomes([o], t + 2, DISABLE_AFTER), b.outcomes.recordOutcomes([o], t + 2, DISABLE_AFTER)]);
    expect(await attemptCount(db.admin, c.id)).toBe(1);
    expect(await countEvents(db.admin, "hookline.delivery.exhausted")).toBe(1);
  });

  postgresTest("410 reported for two deliveries of one webhook by two replicas at once: disabled once, one disabled event", async () => {
    const a = db.replica("a", "caller");
    const b = db.replica("b", "caller");
    const t = timeAfterIssuedIds();
    const w = webhookRecord({ createdAt: t });
    await insertWebhook(db.admin, w);
    await a.ingest({ event: eventRecord({ createdAt: t }), idempotencySince: t });
    await a.ingest({ event: eventRecord({ createdAt: t }), idempotencySince: t });
    const [x] = await a.claims.claimDue(t, all({ limit: 1 }));
    const [y] = await b.claims.claimDue(t, all({ limit: 1 }));
    const gone = (c: ClaimedDelivery | undefined) => withToken(c as ClaimedDelivery, { at: t + 1, result: "gone" });
    const disabled = await Promise.all([a.outcomes.recordOutcomes([gone(x)], t + 2, DISABLE_AFTER), b.outcomes.recordOutcomes([gone(y)], t + 2, DISABLE_AFTER)]);
    expect(disabled.flat()).toEqual([w.id]);
    expect(await countEvents(db.admin, "hookline.webhook.disabled")).toBe(1);
    const [hook] = await db.admin.query<{ enabled: boolean; failure_count: number }>("SELECT enabled, failure_count FROM webhooks WHERE id = $1", [w.id]);
    expect(hook).toEqual({ enabled: false, failure_count: 2 });
  });

  postgresTest("a batch with a manual retry beside the claim's outcome of one delivery: both attempts, numbered in turn, the last state kept", async () => {
    const a = db.replica("a", "caller");
    const t = timeAfterIssuedIds();
    const c = await claimedBy(db, a, t);
    const manual = attemptOutcome(c, { at: t + 1, result: "retry", statusCode: 503, manual: true, nextAttemptAt: t + 9 });
    const claimed = withToken(c, { at: t + 2 });
    await a.outcomes.recordOutcomes([manual, claimed], t + 3, DISABLE_AFTER);
    const attempts = await db.admin.query<{ n: number; status_code: number }>("SELECT n, status_code FROM attempts WHERE delivery_id = $1 ORDER BY n", [c.id]);
    expect(attempts).toEqual([
      { n: 1, status_code: 503 },
      { n: 2, status_code: 200 },
    ]);
    expect(await deliveryRow(db.admin, c.id)).toMatchObject({ status: "succeeded", attemptsCount: 2, claimToken: null, leaseExpiresAt: null });
  });
});
