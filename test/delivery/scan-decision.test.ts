// The decision whether a free slot searches the database (src/delivery/scan-decision.ts): each
// way work can end up there only says so, and a short scan says it is all taken.
import { describe, expect, test } from "bun:test";
import { ScanDecision } from "../../src/delivery/scan-decision.ts";
import { SlotLedger } from "../../src/delivery/slot-ledger.ts";

type Event =
  | "wake"
  | "short scan" // asked for 4, got 1: nothing more due except for webhooks at their cap
  | "full scan" // asked for 4, got 4: more may be due
  | "unclaimed offered"
  | "may be due"
  | ["left in database", string, "webhook" | "all"]
  | ["slot freed", number] // with this many held
  | ["occupy" | "answered", string]; // the ledger: an attempt of that webhook starts / is answered

function replay(events: Event[], cap = 1): { scan: ScanDecision; slots: SlotLedger } {
  const slots = new SlotLedger(100, cap);
  const scan = new ScanDecision(slots);
  for (const e of events) {
    if (e === "wake") scan.wake();
    else if (e === "short scan") scan.scanned(4, 1);
    else if (e === "full scan") scan.scanned(4, 4);
    else if (e === "unclaimed offered") scan.unclaimedOffered();
    else if (e === "may be due") scan.mayBeDue();
    else if (e[0] === "left in database") scan.leftInDatabase(e[1], e[2]);
    else if (e[0] === "slot freed") scan.slotFreed(e[1]);
    else if (e[0] === "occupy") slots.occupy(e[1]);
    else slots.answered(e[1]);
  }
  return { scan, slots };
}

describe("ScanDecision", () => {
  // [why, events, held in the hand-off when asked, scan?]
  const cases: [string, Event[], number, boolean][] = [
    ["at first anything may be due: scan, whatever is held", [], 5, true],
    ["a short scan took everything due: no scan", ["short scan"], 0, false],
    ["a full batch means more may be due", ["full scan"], 3, true],
    ["a wake-up (sweep, recover, retry timer) makes the next chance look", ["short scan", "wake"], 3, true],
    ["a slot freed with an empty hand-off looks: there may be work it never held", ["short scan", ["slot freed", 0]], 0, true],
    [
      "a slot freed that the hand-off feeds does not search (one claim per delivery otherwise)",
      ["short scan", ["slot freed", 2]],
      2,
      false,
    ],
    [
      "a hand-off without room at all leaves work in the database for anyone: the next offer looks",
      ["short scan", ["left in database", "wh_a", "all"], "unclaimed offered"],
      2,
      true,
    ],
    [
      "a webhook whose share is full, at its cap: its work waits for its own slot, others do not search",
      ["short scan", ["occupy", "wh_a"], ["left in database", "wh_a", "webhook"], "unclaimed offered", ["slot freed", 2]],
      2,
      false,
    ],
    [
      "…and once that webhook has a slot again, a freed slot looks for its work",
      ["short scan", ["occupy", "wh_a"], ["left in database", "wh_a", "webhook"], ["answered", "wh_a"], ["slot freed", 2]],
      2,
      true,
    ],
    [
      "a webhook at its cap during a short scan may have more there: its freed slot looks",
      [["occupy", "wh_h"], "short scan", ["answered", "wh_h"], ["slot freed", 1]],
      1,
      true,
    ],
    [
      "a hanging receiver at its cap does not make the other webhooks' freed slots search",
      [["occupy", "wh_h"], "short scan", ["occupy", "wh_f"], ["answered", "wh_f"], ["slot freed", 1]],
      1,
      false,
    ],
    [
      "a reservation given back, or held ones returned: look, when nothing is held",
      ["short scan", "may be due"],
      0,
      true,
    ],
    [
      "…but with deliveries held and nothing only in the database with room, the hand-off feeds the slot",
      ["short scan", "may be due"],
      2,
      false,
    ],
    [
      "held ones aged out and went back: their webhook's slots look there",
      ["short scan", ["left in database", "wh_a", "webhook"], "may be due"],
      2,
      true,
    ],
    [
      "a short scan forgets the webhooks with room: they were searched and have nothing left",
      [["left in database", "wh_a", "webhook"], "short scan", ["slot freed", 2]],
      2,
      false,
    ],
  ];
  test.each(cases)("%s", (_why, events, held, scan) => {
    expect(replay(events).scan.shouldScan(held)).toBe(scan);
  });

  test("the flags are harmless if the delivery never got there (a rollback): a scan comes back short and clears them", () => {
    const { scan } = replay(["short scan", ["left in database", "wh_a", "all"], "unclaimed offered"]);
    expect(scan.shouldScan(2)).toBe(true);
    scan.scanned(4, 0);
    expect(scan.shouldScan(2)).toBe(false);
  });
});
