// Which webhooks an event fans out to, which deliveries its ingest claims, and what the write
// does with a planned delivery whose webhook changed (src/domain/delivery-rules/fan-out.ts).
// Pure: the claim is a recording stand-in for the dispatcher's room.
import { describe, expect, test } from "bun:test";
import {
  handedOver,
  planFanOut,
  type Receiver,
  receives,
  recheckPlanned,
  unusedRoom,
} from "../../src/domain/delivery-rules/fan-out.ts";
import type { IngestClaim, IngestTake, NewDelivery } from "../../src/domain/store.ts";

const T = Date.UTC(2024, 0, 15, 12, 0, 0);
const event = (type: string) => ({ type, payload: '{"x":1}', createdAt: T });
const hook = (id: string, patterns: string[], enabled = true) => ({ id, patterns, enabled });

describe("receives", () => {
  test.each<[string, Receiver, string, boolean, boolean]>([
    ["an enabled webhook whose pattern names the type", hook("a", ["member.added"]), "member.added", false, true],
    ["a prefix pattern", hook("a", ["member.*"]), "member.team.added", false, true],
    ["one pattern of several", hook("a", ["invoice.paid", "member.*"]), "member.added", false, true],
    ["no pattern matches", hook("a", ["invoice.*"]), "member.added", false, false],
    ["a disabled webhook gets nothing", hook("a", ["member.added"], false), "member.added", false, false],
    ["* matches user types", hook("a", ["*"]), "member.added", false, true],
    ["* does not match Hookline's own", hook("a", ["*"]), "hookline.delivery.exhausted", false, false],
    ["an operational type must be named", hook("a", ["hookline.delivery.exhausted"]), "hookline.delivery.exhausted", false, true],
    ["the test event reaches its webhook, disabled", hook("a", ["member.added"], false), "webhook.test", true, true],
    ["… and whatever its patterns", hook("a", ["invoice.*"]), "webhook.test", true, true],
  ])("%s", (_name, w, type, testEvent, expected) => {
    expect(receives(w, type, testEvent)).toBe(expected);
  });
});

/** A claim that answers from a list, recording what it was asked. */
function claimOf(answers: (IngestTake | undefined)[], leaseMs = 15_000) {
  const asked: string[] = [];
  const claim: IngestClaim = {
    leaseMs,
    take: (webhookId, payloadLength) => {
      asked.push(`${webhookId}:${payloadLength}`);
      return answers.shift();
    },
    giveBack: () => {
      throw new Error("the plan never gives back");
    },
  };
  return { claim, asked };
}

describe("planFanOut", () => {
  const tenant = [hook("a", ["member.*"]), hook("b", ["invoice.paid"]), hook("c", ["*"]), hook("d", ["member.added"], false)];
  const ids = (plan: { to: { id: string }[] }) => plan.to.map((w) => w.id);

  test("the receivers among the candidates, in their order", () => {
    expect(ids(planFanOut(event("member.added"), tenant, {}))).toEqual(["a", "c"]);
    expect(ids(planFanOut(event("invoice.paid"), tenant, {}))).toEqual(["b", "c"]);
    expect(ids(planFanOut(event("hookline.webhook.disabled"), tenant, {}))).toEqual([]);
  });

  test("without a claim every delivery is pending", () => {
    expect(planFanOut(event("member.added"), tenant, {})).toMatchObject({ claimed: [null, null], leaseExpiresAt: null });
  });

  test("with one, each receiver's delivery is claimed as the dispatcher's room allows, under a lease from the event's time", () => {
    const { claim, asked } = claimOf(["send", undefined, "hold"]);
    const three = [hook("a", ["*"]), hook("b", ["*"]), hook("c", ["*"])];
    const plan = planFanOut(event("member.added"), three, { claim });
    expect(plan).toEqual({ to: three, claimed: ["send", null, "hold"], leaseExpiresAt: T + 15_000 });
    // Room is asked once per delivery, with its payload's size, and only for receivers.
    expect(asked).toEqual(["a:7", "b:7", "c:7"]);
    const some = claimOf([]);
    planFanOut(event("invoice.paid"), tenant, { claim: some.claim });
    expect(some.asked).toEqual(["b:7", "c:7"]);
  });

  test("the test endpoint: its one webhook, disabled or not, whatever its events; no other", () => {
    expect(ids(planFanOut(event("webhook.test"), tenant, { onlyWebhookId: "d" }))).toEqual(["d"]);
    expect(ids(planFanOut(event("webhook.test"), tenant, { onlyWebhookId: "b" }))).toEqual(["b"]);
    expect(ids(planFanOut(event("webhook.test"), tenant, { onlyWebhookId: "gone" }))).toEqual([]);
    const { claim } = claimOf(["send"]);
    expect(planFanOut(event("webhook.test"), tenant, { onlyWebhookId: "d", claim }).claimed).toEqual(["send"]);
  });
});

describe("recheckPlanned: a planned delivery whose webhook changed before the write", () => {
  test.each<[string, "pending" | "delivering", Receiver | null, string, boolean, string]>([
    ["deleted: left out", "delivering", null, "member.added", false, "skip"],
    ["deleted, pending: left out", "pending", null, "member.added", false, "skip"],
    ["disabled: left out (the disable failed the pending ones; this one would escape)", "delivering", hook("a", ["*"], false), "member.added", false, "skip"],
    ["no longer subscribed: left out", "pending", hook("a", ["invoice.*"]), "member.added", false, "skip"],
    ["still a receiver, claimed: written pending, not sent with what the plan read", "delivering", hook("a", ["member.*"]), "member.added", false, "pending"],
    ["still a receiver, pending: as planned", "pending", hook("a", ["member.*"]), "member.added", false, "planned"],
    ["the test event to a webhook disabled meanwhile: still written, pending", "delivering", hook("a", [], false), "webhook.test", true, "pending"],
    ["the test event to a webhook deleted meanwhile: left out", "delivering", null, "webhook.test", true, "skip"],
  ])("%s", (_name, status, current, type, testEvent, expected) => {
    expect(recheckPlanned(status, current, type, testEvent)).toBe(expected as never);
  });
});

describe("after the write", () => {
  const taken = [{ deliveryId: "d1" }, { deliveryId: "d2" }, { deliveryId: "d3" }];
  test.each<[string, { skipped: string[]; pending: string[] } | null, string[]]>([
    ["nothing created (a failed write, a replay, a conflict): all the room goes back", null, ["d1", "d2", "d3"]],
    ["created as planned: none", { skipped: [], pending: [] }, []],
    ["left out or written pending: theirs", { skipped: ["d2"], pending: ["d3", "d9"] }, ["d2", "d3"]],
  ])("unusedRoom: %s", (_name, written, expected) => {
    expect(unusedRoom(taken, written).map((x) => x.deliveryId)).toEqual(expected);
  });

  test("handedOver: the dispatcher gets the created ones, those written pending without their claim", () => {
    const claim = { as: "send" } as unknown as NewDelivery["claim"];
    const planned: NewDelivery[] = [
      { id: "d1", webhookId: "a", claim },
      { id: "d2", webhookId: "b", claim },
      { id: "d3", webhookId: "c", claim },
      { id: "d4", webhookId: "d" },
    ];
    expect(handedOver(planned, { skipped: [], pending: [] })).toBe(planned);
    expect(handedOver(planned, { skipped: ["d2"], pending: ["d3"] })).toEqual([
      { id: "d1", webhookId: "a", claim },
      { id: "d3", webhookId: "c" },
      { id: "d4", webhookId: "d" },
    ]);
  });
});
