// The slot ledger (src/delivery/slot-ledger.ts): what the dispatcher has under way, and whether
// there is a slot, whoever asks (an ingest, the hand-off, a claim).
import { describe, expect, test } from "bun:test";
import { SlotLedger } from "../../src/delivery/slot-ledger.ts";

type Step =
  | ["occupy" | "release" | "answered" | "tryReserve", string]
  | ["written" | "beginClaim" | "endClaim"];

function run(ledger: SlotLedger, steps: Step[]): (boolean | undefined)[] {
  return steps.map((s) => {
    switch (s[0]) {
      case "tryReserve":
        return ledger.tryReserve(s[1]);
      case "occupy":
      case "release":
      case "answered":
        ledger[s[0]](s[1]);
        return undefined;
      default:
        ledger[s[0]]();
        return undefined;
    }
  });
}

describe("SlotLedger", () => {
  // [why, concurrency, per-webhook cap, steps, free after, in flight after, unwritten after]
  const cases: [string, number, number, Step[], number, number, number][] = [
    ["empty: every slot is free", 4, 2, [], 4, 0, 0],
    ["each attempt takes a slot", 4, 2, [["occupy", "a"], ["occupy", "b"]], 2, 2, 0],
    [
      "an answered attempt gives its slot back before its outcome is written",
      4,
      2,
      [["occupy", "a"], ["answered", "a"]],
      3,
      0,
      1,
    ],
    [
      "unwritten outcomes bound new attempts as much as attempts in flight do (a slow disk holds them back)",
      2,
      2,
      [["occupy", "a"], ["answered", "a"], ["occupy", "a"], ["answered", "a"]],
      0,
      0,
      2,
    ],
    [
      "a written outcome frees its share of the bound",
      2,
      2,
      [["occupy", "a"], ["answered", "a"], ["occupy", "a"], ["answered", "a"], ["written"]],
      1,
      0,
      1,
    ],
    ["release (a rollback, an attempt that threw) leaves no outcome to write", 2, 2, [["occupy", "a"], ["release", "a"]], 2, 0, 0],
  ];
  test.each(cases)("%s", (_why, max, cap, steps, free, inFlight, unwritten) => {
    const ledger = new SlotLedger(max, cap);
    run(ledger, steps);
    expect(ledger.free()).toBe(free);
    expect(ledger.inFlight).toBe(inFlight);
    expect(ledger.unwrittenOutcomes).toBe(unwritten);
  });

  test("an ingest reserves a slot only under both caps", () => {
    const ledger = new SlotLedger(3, 2);
    expect(run(ledger, [["tryReserve", "a"], ["tryReserve", "a"], ["tryReserve", "a"], ["tryReserve", "b"], ["tryReserve", "c"]])).toEqual([
      true,
      true,
      false, // a at its cap
      true,
      false, // all 3 slots taken
    ]);
    expect(ledger.hasRoom("a")).toBe(false);
    expect(ledger.hasRoom("b")).toBe(true);
    expect([...ledger.byWebhook]).toEqual([
      ["a", 2],
      ["b", 1],
    ]);
  });

  test("while a claim picks slots an ingest takes none (its picks are not counted yet), until every claim is back", () => {
    const ledger = new SlotLedger(8, 8);
    ledger.beginClaim();
    ledger.beginClaim();
    expect(ledger.claiming).toBe(true);
    expect(ledger.tryReserve("a")).toBe(false);
    ledger.endClaim();
    // A claim that overlaps another (dispatchOnce beside the pump) still holds the ingests off.
    expect(ledger.tryReserve("a")).toBe(false);
    ledger.endClaim();
    expect(ledger.claiming).toBe(false);
    expect(ledger.tryReserve("a")).toBe(true);
  });

  test("a webhook's count goes away at zero, so byWebhook lists only webhooks with something in flight", () => {
    const ledger = new SlotLedger(8, 8);
    run(ledger, [["occupy", "a"], ["occupy", "b"], ["answered", "a"], ["release", "b"]]);
    expect([...ledger.byWebhook]).toEqual([]);
    expect(ledger.hasRoom("a")).toBe(true);
  });
});
