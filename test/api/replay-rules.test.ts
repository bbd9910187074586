// The pure rules of replays (API.md §14): which window a request asks for, and which events of
// a batch get a delivery. Table-tested.
import { describe, expect, test } from "bun:test";
import { encodeTime } from "ulid";
import { planReplayBatch, replayIdUpperMs, replayMatches } from "../../src/domain/replay/batch.ts";
import { checkReplayWindow } from "../../src/domain/replay/window.ts";

const NOW = Date.parse("2026-03-10T12:00:00Z");
const DAY = 86_400_000;

describe("checkReplayWindow", () => {
  const cases: [string, Record<string, unknown>, number, { since: number; until: number; eventTypes: string[] | null } | string[]][] = [
    ["until defaults to now", { since: "2026-03-09T12:00:00Z" }, 30, { since: NOW - DAY, until: NOW, eventTypes: null }],
    ["an offset is read as such", { since: "2026-03-09T13:00:00+01:00" }, 30, { since: NOW - DAY, until: NOW, eventTypes: null }],
    ["until in the future is now", { since: "2026-03-09T12:00:00Z", until: "2027-01-01T00:00:00Z" }, 30, { since: NOW - DAY, until: NOW, eventTypes: null }],
    ["a point window", { since: "2026-03-10T11:00:00Z", until: "2026-03-10T11:00:00Z" }, 30, { since: NOW - 3_600_000, until: NOW - 3_600_000, eventTypes: null }],
    ["retention 0 keeps everything", { since: "2020-01-01T00:00:00Z" }, 0, { since: Date.parse("2020-01-01T00:00:00Z"), until: NOW, eventTypes: null }],
    ["event types deduplicated", { since: "2026-03-10T00:00:00Z", event_types: ["member.*", "member.*", "invoice.paid"] }, 30, { since: NOW - DAY / 2, until: NOW, eventTypes: ["member.*", "invoice.paid"] }],
    ["missing since", {}, 30, ["since"]],
    ["not RFC 3339", { since: "2026-03-09" }, 30, ["since"]],
    ["a number", { since: 1_700_000_000 }, 30, ["since"]],
    ["an impossible date", { since: "2026-02-30T25:00:00Z" }, 30, ["since"]],
    ["since in the future", { since: "2026-03-11T00:00:00Z" }, 30, ["since"]],
    ["over retention", { since: "2026-03-02T11:59:59Z" }, 8, ["since"]],
    ["until before since", { since: "2026-03-10T00:00:00Z", until: "2026-03-09T00:00:00Z" }, 30, ["until"]],
    ["malformed until", { since: "2026-03-10T00:00:00Z", until: "soon" }, 30, ["until"]],
    ["empty event_types", { since: "2026-03-10T00:00:00Z", event_types: [] }, 30, ["event_types"]],
    ["a bad event type", { since: "2026-03-10T00:00:00Z", event_types: ["ok.type", "Bad"] }, 30, ["event_types[1]"]],
    ["every problem at once", { since: "x", until: "y", event_types: "member.added" }, 30, ["since", "until", "event_types"]],
  ];
  for (const [name, input, days, want] of cases) {
    test(name, () => {
      const got = checkReplayWindow(input, NOW, days);
      if (Array.isArray(want)) {
        expect(got.ok).toBe(false);
        expect(got.ok ? [] : got.errors.map((e) => e.slice(0, e.indexOf(":")))).toEqual(want);
      } else expect(got).toEqual({ ok: true, window: want });
    });
  }
});

describe("planReplayBatch", () => {
  const e = (id: string, type: string, dropped = false) => ({ id, type, dropped });
  test.each([
    [["member.*"], null, ["a", "b"], 2, 0],
    [["member.*"], ["member.removed"], ["b"], 1, 0],
    [["*"], null, ["a", "b", "c"], 4, 1],
    [["invoice.paid"], ["member.*"], [], 0, 0],
  ] as [string[], string[] | null, string[], number, number][])("patterns %p narrowed by %p deliver %p", (patterns, types, ids, matched, skipped) => {
    const batch = [e("a", "member.added"), e("b", "member.removed"), e("c", "order.paid"), e("d", "order.paid", true), e("t", "webhook.test")];
    const plan = planReplayBatch(batch, patterns, types);
    expect(plan.deliver.map((x) => x.id)).toEqual(ids);
    expect([plan.matched, plan.skipped]).toEqual([matched, skipped]);
  });

  test("operational types need naming, as for fresh fan-out", () => {
    expect(replayMatches(["*"], null, "hookline.webhook.disabled")).toBe(false);
    expect(replayMatches(["hookline.webhook.disabled"], null, "hookline.webhook.disabled")).toBe(true);
    expect(replayMatches(["*"], ["*"], "webhook.test")).toBe(false);
  });
});

describe("replayIdUpperMs: how far a replay reads the tenant's events by id", () => {
  const T = Date.UTC(2026, 11, 2, 12, 0, 0);
  const idAt = (ms: number) => `rpl_${encodeTime(ms, 10)}${"0".repeat(16)}`;
  const cases: [string, { id: string; until: number; startedAt: number }, number][] = [
    ["the job's id made at its start: until + a minute", { id: idAt(T + 5), until: T, startedAt: T + 5 }, T + 60_000],
    ["the generator two hours ahead when the job was made: that much more", { id: idAt(T + 2 * 3_600_000 + 5), until: T, startedAt: T + 5 }, T + 60_000 + 2 * 3_600_000],
    ["an id behind its start (cannot happen; never less than until + a minute)", { id: idAt(T - 10_000), until: T, startedAt: T + 5 }, T + 60_000],
  ];
  for (const [name, job, want] of cases) test(name, () => expect(replayIdUpperMs(job)).toBe(want));
});
