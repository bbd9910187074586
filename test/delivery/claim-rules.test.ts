// The rules of a claim that are not SQL: the room a webhook has left under its cap
// (src/domain/fair-share.ts), and what a claim an ingest held for this process needs before it
// is sent (src/domain/delivery-rules/held.ts). Which due rows a claim takes is takeLevelled's
// (test/delivery/mechanisms.test.ts drives it through the Handoff and the store).
import { describe, expect, test } from "bun:test";
import { checkHeld, heldRefusal } from "../../src/domain/delivery-rules/held.ts";
import { roomLeft } from "../../src/domain/fair-share.ts";
import type { IngestClaimed } from "../../src/domain/store.ts";

const T = Date.UTC(2024, 0, 15, 12, 0, 0);
const FRESH = 1_000;

describe("roomLeft", () => {
  const inflight = new Map([["a", 2]]);
  test.each<[string, string, Map<string, number>, number]>([
    ["nothing running or taken: the whole cap", "b", new Map(), 4],
    ["what runs uses it", "a", new Map(), 2],
    ["and what this claim took", "a", new Map([["a", 1]]), 1],
    ["at the cap: none", "a", new Map([["a", 2]]), 0],
    ["past it (the cap lowered): below zero, still none", "a", new Map([["a", 3]]), -1],
  ])("%s", (_name, id, taken, expected) => {
    expect(roomLeft(id, 4, inflight, taken)).toBe(expected);
  });
});

function held(createdAt: number, webhookGeneration: number): IngestClaimed {
  return {
    as: "hold",
    delivery: { createdAt } as IngestClaimed["delivery"],
    leaseExpiresAt: createdAt + 15_000,
    webhookUpdatedAt: createdAt - 5,
    webhookGeneration,
  };
}

describe("checkHeld", () => {
  test.each<[string, IngestClaimed, number, number, string]>([
    ["young, and no webhook changed here since: as prepared, no query", held(T, 7), 7, T + FRESH, "as-prepared"],
    ["older than another process's change can go unseen: only if the database agrees", held(T, 7), 7, T + FRESH + 1, "if-unchanged"],
    ["a webhook changed here since the ingest: read again, however young", held(T, 7), 8, T, "reread"],
    ["… and however old", held(T, 7), 9, T + 60_000, "reread"],
  ])("%s", (_name, c, generation, now, expected) => {
    expect(checkHeld(c, generation, now, FRESH)).toBe(expected as never);
  });
});

describe("heldRefusal", () => {
  test.each<[string, string, { enabled: boolean; disabledReason: string | null } | undefined, string | undefined]>([
    ["an enabled webhook: it may go", "member.added", { enabled: true, disabledReason: null }, undefined],
    ["disabled since the ingest: failed, saying why", "member.added", { enabled: false, disabledReason: "gone" }, "webhook disabled (gone)"],
    ["disabled without a reason recorded: as a PATCH's", "member.added", { enabled: false, disabledReason: null }, "webhook disabled (manual)"],
    ["the test event goes to a disabled webhook too", "webhook.test", { enabled: false, disabledReason: "manual" }, undefined],
    ["deleted: nothing to fail (its deliveries went with it)", "member.added", undefined, undefined],
  ])("%s", (_name, type, webhook, expected) => {
    expect(heldRefusal(type, webhook)).toBe(expected);
  });
});
