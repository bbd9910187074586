// The dispatcher's modes (src/delivery/dispatcher-mode.ts): the allowed transitions, and the
// dispatcher moving through them against a scripted store, its timers fired by a ManualScheduler
// (no test here waits for a timer).
import { describe, expect, test } from "bun:test";
import { DEFAULTS } from "../../src/config/defaults.ts";
import type { Config } from "../../src/config/types.ts";
import { canMove, type Mode, move } from "../../src/delivery/dispatcher-mode.ts";
import { Dispatcher } from "../../src/delivery/dispatcher.ts";
import { policyFromConfig } from "../../src/delivery/retry-policy.ts";
import type { SendResult } from "../../src/delivery/sender.ts";
import { ManualScheduler } from "../../src/domain/clock.ts";
import type { ClaimedDelivery, ClaimOptions, NewDelivery, Store } from "../../src/domain/store.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { Metrics } from "../../src/observability/metrics.ts";
import { fakeClock } from "../support/fixtures.ts";

const MODES: Mode[] = ["unstarted", "idle", "pumping", "stopping", "stopped"];
const ALLOWED = new Set([
  "unstarted→idle",
  "unstarted→stopping",
  "idle→pumping",
  "idle→stopping",
  "pumping→idle",
  "pumping→stopping",
  "stopping→stopped",
  "stopped→idle",
  "stopped→stopping",
]);

describe("mode transitions", () => {
  const pairs = MODES.flatMap((from) => MODES.map((to) => [from, to] as const));
  test.each(pairs)("%s → %s", (from, to) => {
    const allowed = ALLOWED.has(`${from}→${to}`);
    expect(canMove(from, to)).toBe(allowed);
    if (allowed) expect(move(from, to)).toBe(to);
    else expect(() => move(from, to)).toThrow(`dispatcher: cannot go from ${from} to ${to}`);
  });
});

/** A dispatcher over a scripted store: `due` is what claims find; sends wait until answered. */
function rig(settings: Partial<Config["delivery"]> = {}) {
  const clock = fakeClock(10_000_000);
  const scheduler = new ManualScheduler(clock);
  const config = structuredClone(DEFAULTS) as Config;
  Object.assign(config.delivery, { concurrency: 2, per_webhook_concurrency: 2, timeout: 5_000 }, settings);
  const due: ClaimedDelivery[] = [];
  const calls = { claims: [] as ClaimOptions[], released: [] as string[][], heldBack: [] as string[][], recorded: [] as string[], nextDueReads: 0 };
  let nextDue: number | undefined;
  // While set, claims wait for it (a claim still being written when something else happens).
  let gate: Promise<void> | undefined;
  const store = {
    claimDue: async (_now: number, opts: ClaimOptions) => {
      calls.claims.push(opts);
      await gate;
      return due.splice(0, opts.limit);
    },
    confirmHeld: async (held: NewDelivery[]) => held.flatMap((h) => (h.claim ? [h.claim.delivery] : [])),
    releaseClaims: async (ids: string[]) => void calls.released.push(ids),
    releaseHeld: async (held: NewDelivery[]) => void calls.heldBack.push(held.map((h) => h.id)),
    nextDueAt: async () => {
      calls.nextDueReads++;
      return nextDue;
    },
    recordOutcomes: async (outcomes: { deliveryId: string }[]) => {
      calls.recorded.push(...outcomes.map((o) => o.deliveryId));
      return [];
    },
  } as unknown as Store;
  const answers = new Map<string, (r: SendResult) => void>();
  const sent: string[] = [];
  const dispatcher = new Dispatcher({
    store,
    clock,
    scheduler,
    config,
    send: (req) =>
      new Promise<SendResult>((resolve) => {
        const id = new URL(req.url).pathname.slice(1);
        sent.push(id);
        answers.set(id, resolve);
      }),
    resolver: async () => ["93.184.215.14"],
    policy: policyFromConfig(config.delivery),
    version: "test",
    random: () => 0.5,
    logger: createLogger("silent"),
    metrics: new Metrics({
      gauges: async () => ({ pendingByAge: {}, oldestPendingCreatedAt: null, oldestDueAt: null, webhooksEnabled: 0, webhooksDisabled: 0 }),
      inFlight: () => 0,
      now: () => clock.now(),
    }),
  });
  const delivery = (id: string, webhookId = "wh_a"): ClaimedDelivery => ({
    id,
    eventId: `evt_${id}`,
    webhookId,
    tenantId: "acme",
    eventType: "member.added",
    status: "delivering",
    attemptsCount: 0,
    retryBase: 0,
    retryStartedAt: null,
    createdAt: clock.now(),
    url: `https://example.com/${id}`,
    headers: {},
    secret: "whsec_dGVzdA==",
    previousSecret: null,
    previousSecretExpiresAt: null,
    payload: "{}",
  });
  const answer = (id: string, statusCode = 200) =>
    answers.get(id)?.({ startedAt: clock.now(), durationMs: 1, statusCode, responseBody: "", error: null, retryAfter: null });
  /** Waits until `n` sends reached the receiver stand-in (each is a positive event). */
  const sends = async (n: number) => {
    while (sent.length < n) await new Promise<void>((r) => setImmediate(r));
  };
  /** Waits until `n` outcomes reached the store stand-in. */
  const recorded = async (n: number) => {
    while (calls.recorded.length < n) await new Promise<void>((r) => setImmediate(r));
  };
  return {
    recorded,
    clock,
    scheduler,
    dispatcher,
    due,
    calls,
    sent,
    delivery,
    answer,
    sends,
    setNextDue: (at: number | undefined) => {
      nextDue = at;
    },
    /** Claims wait from now on until the returned function is called. */
    holdClaims: () => {
      let open = () => {};
      gate = new Promise<void>((r) => (open = r));
      return () => {
        gate = undefined;
        open();
      };
    },
  };
}

describe("the dispatcher moves through its modes", () => {
  test("unstarted → idle (a first pump, then at rest) → stopping → stopped → idle again; a second start is refused", async () => {
    const r = rig();
    expect(r.dispatcher.currentMode).toBe("unstarted");
    expect(r.dispatcher.isRunning).toBe(false);
    expect(r.dispatcher.claimHook()).toBeUndefined();
    r.dispatcher.start();
    expect(r.dispatcher.currentMode).toBe("pumping"); // start wakes it: a pump is scheduled
    expect(r.dispatcher.isRunning).toBe(true);
    expect(r.dispatcher.claimHook()).toBeDefined();
    await r.dispatcher.atRest();
    expect(r.dispatcher.currentMode).toBe("idle");
    expect(r.calls.claims).toHaveLength(1);
    expect(() => r.dispatcher.start()).toThrow("dispatcher: cannot go from idle to idle");
    const stopping = r.dispatcher.stop(1_000);
    expect(r.dispatcher.currentMode).toBe("stopping");
    expect(r.dispatcher.claimHook()).toBeUndefined();
    // A second stop while the first runs is the same stop.
    expect(r.dispatcher.stop(0)).toBe(stopping);
    await stopping;
    expect(r.dispatcher.currentMode).toBe("stopped");
    expect(r.scheduler.pending).toBe(0); // the retry timer, the hold check and the grace are gone
    r.dispatcher.start();
    expect(r.dispatcher.isRunning).toBe(true);
    await r.dispatcher.stop(0);
  });

  test("the retry timer is armed for the next due retry, and claims only when the scheduler says it is due", async () => {
    const r = rig();
    r.setNextDue(r.clock.now() + 5_000);
    r.dispatcher.start();
    await r.dispatcher.atRest();
    expect(r.calls.claims).toHaveLength(1);
    r.due.push(r.delivery("dlv_1"));
    r.scheduler.advance(4_999);
    await r.dispatcher.atRest();
    expect(r.calls.claims).toHaveLength(1); // not due yet, and nothing else woke it
    r.setNextDue(undefined);
    r.scheduler.advance(1);
    await r.dispatcher.atRest();
    expect(r.calls.claims).toHaveLength(2);
    await r.sends(1);
    expect(r.sent).toEqual(["dlv_1"]);
    r.answer("dlv_1");
    await r.dispatcher.atRest({ drained: true });
    expect(r.calls.recorded).toEqual(["dlv_1"]);
    await r.dispatcher.stop(0);
  });

  test("with nothing due the timer sleeps the longest (30 s)", async () => {
    const r = rig();
    r.dispatcher.start();
    await r.dispatcher.atRest();
    expect(r.calls.claims).toHaveLength(1);
    r.scheduler.advance(29_999); // the hold check runs meanwhile; it claims nothing
    await r.dispatcher.atRest();
    expect(r.calls.claims).toHaveLength(1);
    r.scheduler.advance(1);
    await r.dispatcher.atRest();
    expect(r.calls.claims).toHaveLength(2);
    await r.dispatcher.stop(0);
  });

  test("due work without a free slot is looked at again in a second, not at once (no spinning): freed slots wake it sooner", async () => {
    const r = rig({ concurrency: 1 });
    r.dispatcher.start();
    await r.dispatcher.atRest();
    r.due.push(r.delivery("dlv_1"), r.delivery("dlv_2"));
    r.setNextDue(r.clock.now()); // dlv_2 is due, and stays so
    r.dispatcher.wake();
    await r.dispatcher.atRest();
    await r.sends(1);
    const reads = r.calls.nextDueReads;
    r.scheduler.advance(0);
    await r.dispatcher.atRest();
    expect(r.calls.nextDueReads).toBe(reads);
    r.scheduler.advance(999);
    await r.dispatcher.atRest();
    expect(r.calls.nextDueReads).toBe(reads);
    r.scheduler.advance(1);
    await r.dispatcher.atRest();
    expect(r.calls.nextDueReads).toBe(reads + 1);
    expect(r.sent).toEqual(["dlv_1"]);
    // The answer frees the slot: dlv_2 goes at once, without waiting for the timer.
    r.answer("dlv_1");
    await r.sends(2);
    r.answer("dlv_2");
    await r.dispatcher.atRest({ drained: true });
    expect(r.calls.recorded).toEqual(["dlv_1", "dlv_2"]);
    await r.dispatcher.stop(0);
  });

  test("stop gives in-flight attempts the grace period on the scheduler, then releases what is still running", async () => {
    const r = rig();
    r.due.push(r.delivery("dlv_1"), r.delivery("dlv_2"));
    r.dispatcher.start();
    await r.sends(2);
    r.answer("dlv_1");
    await r.recorded(1);
    await r.dispatcher.atRest();
    let stopped = false;
    const stopping = r.dispatcher.stop(5_000).then(() => (stopped = true));
    await r.dispatcher.atRest();
    expect(r.calls.released).toEqual([]);
    r.scheduler.advance(4_999);
    await r.dispatcher.atRest();
    expect(stopped).toBe(false);
    expect(r.dispatcher.currentMode).toBe("stopping");
    r.scheduler.advance(1);
    await stopping;
    expect(r.calls.released).toEqual([["dlv_2"]]);
    expect(r.calls.recorded).toEqual(["dlv_1"]);
    expect(r.dispatcher.currentMode).toBe("stopped");
  });

  test("a claim written after stop() was called is given back at once, not sent", async () => {
    const r = rig();
    r.due.push(r.delivery("dlv_1"));
    const letClaimsThrough = r.holdClaims();
    r.dispatcher.start();
    while (r.calls.claims.length === 0) await new Promise<void>((res) => setImmediate(res));
    const stopping = r.dispatcher.stop(0); // the first pump's claim is still being written
    letClaimsThrough();
    await stopping;
    await r.dispatcher.atRest();
    expect(r.calls.released).toEqual([["dlv_1"]]);
    expect(r.sent).toEqual([]);
    expect(r.dispatcher.currentMode).toBe("stopped");
  });

  test("the hold check runs on the scheduler: held deliveries near the end of their lease go back", async () => {
    const r = rig({ concurrency: 1, per_webhook_concurrency: 1 });
    r.dispatcher.start();
    await r.dispatcher.atRest();
    const claim = r.dispatcher.claimHook();
    expect(claim?.take("wh_a", 2)).toBe("send");
    expect(claim?.take("wh_a", 2)).toBe("hold");
    const claimed = (id: string, as: "send" | "hold"): NewDelivery => ({
      id,
      webhookId: "wh_a",
      claim: { as, delivery: r.delivery(id), leaseExpiresAt: r.clock.now() + 10_000, webhookUpdatedAt: 0, webhookGeneration: 0 },
    });
    r.dispatcher.committed({ origin: "publish", deliveries: [claimed("dlv_1", "send"), claimed("dlv_2", "hold")] });
    await r.sends(1);
    await r.dispatcher.atRest();
    expect(r.dispatcher.held).toBe(1);
    // Lease 10 s (timeout 5 s + 5 s margin): at 4 s it still has 6 s; the check at 5 s gives it back.
    r.scheduler.advance(4_000);
    await r.dispatcher.atRest();
    expect(r.calls.heldBack).toEqual([]);
    r.scheduler.advance(1_000);
    await r.dispatcher.atRest();
    expect(r.calls.heldBack).toEqual([["dlv_2"]]);
    expect(r.dispatcher.held).toBe(0);
    r.answer("dlv_1");
    await r.dispatcher.atRest({ drained: true });
    await r.dispatcher.stop(0);
  });
});
