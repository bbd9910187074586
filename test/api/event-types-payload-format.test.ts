// payload_format on /v1/event-types and [[event_types]] (API.md §14): validated (422 naming the
// field), shown by GET as the format the type's events get (its own, else delivery.payload_format),
// null in a PATCH giving the type back to the default.
import { afterEach, describe, expect, test } from "bun:test";
import { upsertDeclaredEventTypes } from "../../src/domain/event-types.ts";
import { configProblems } from "../support/config-problems.ts";
import { expectInvalid } from "../support/expect-error.ts";
import { type Harness, harness } from "../support/harness.ts";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function formats(hh: Harness): Promise<Record<string, unknown>> {
  const res = await hh.call("GET", "/v1/event-types");
  const { data } = (await res.json()) as { data: { name: string; payload_format: unknown }[] };
  return Object.fromEntries(data.map((t) => [t.name, t.payload_format]));
}

describe("payload_format of event types", () => {
  test("created with one, shown by GET; without one, the configured default; built-in types are envelopes", async () => {
    h = await harness();
    const made = await h.call("POST", "/v1/event-types", { body: { name: "invoice.paid", payload_format: "data" } });
    expect(made.status).toBe(201);
    expect(await made.json()).toMatchObject({ name: "invoice.paid", payload_format: "data" });
    expect((await h.call("POST", "/v1/event-types", { body: { name: "member.added" } })).status).toBe(201);
    expect(await formats(h)).toEqual({
      "webhook.test": "envelope",
      "hookline.webhook.disabled": "envelope",
      "hookline.delivery.exhausted": "envelope",
      "hookline.webhook.recovered": "envelope",
      "invoice.paid": "data",
      "member.added": "envelope",
    });
  });

  test("PATCH sets it, leaves it when absent, and null gives the type back to delivery.payload_format", async () => {
    h = await harness({ delivery: { payload_format: "data" } });
    expect((await h.call("POST", "/v1/event-types", { body: { name: "invoice.paid", payload_format: "envelope" } })).status).toBe(201);
    expect((await formats(h))["invoice.paid"]).toBe("envelope");
    const kept = await h.call("PATCH", "/v1/event-types/invoice.paid", { body: { description: "Paid." } });
    expect(await kept.json()).toMatchObject({ description: "Paid.", payload_format: "envelope" });
    const cleared = await h.call("PATCH", "/v1/event-types/invoice.paid", { body: { payload_format: null } });
    expect(cleared.status).toBe(200);
    expect(await cleared.json()).toMatchObject({ payload_format: "data" });
    expect((await formats(h))["invoice.paid"]).toBe("data");
  });

  test("a value other than envelope or data → 422 naming payload_format, on create and on PATCH", async () => {
    h = await harness();
    for (const bad of ["json", "", 1, true, ["data"]]) {
      await expectInvalid(await h.call("POST", "/v1/event-types", { body: { name: "invoice.paid", payload_format: bad } }), "payload_format");
    }
    await expectInvalid(await h.call("POST", "/v1/event-types", { body: { name: "invoice.paid", payload_format: null } }), "payload_format");
    expect((await h.call("POST", "/v1/event-types", { body: { name: "invoice.paid" } })).status).toBe(201);
    for (const bad of ["Data", 0, {}]) {
      await expectInvalid(await h.call("PATCH", "/v1/event-types/invoice.paid", { body: { payload_format: bad } }), "payload_format");
    }
    expect((await formats(h))["invoice.paid"]).toBe("envelope");
  });

  test("[[event_types]] payload_format is upserted at start, and a bad one is a config error naming it", async () => {
    h = await harness({
      event_types: [
        { name: "invoice.paid", description: "", payload_format: "data" },
        { name: "member.added", description: "" },
      ],
    });
    expect(await upsertDeclaredEventTypes(h.deps)).toBe(2);
    expect(await formats(h)).toMatchObject({ "invoice.paid": "data", "member.added": "envelope" });

    expect(
      configProblems(`[[event_types]]
name = "invoice.paid"
payload_format = "raw"

[[event_types]]
name = "member.added"
payload_format = "data"
`),
    ).toEqual(['event_types[0].payload_format: must be "envelope" or "data" (line 3)']);
    expect(configProblems('[delivery]\npayload_format = "body"\n')).toEqual([
      expect.stringMatching(/^delivery\.payload_format: .*envelope.*data.* \(line 2\)$/),
    ]);
    expect(configProblems(undefined, { HOOKLINE_DELIVERY_PAYLOAD_FORMAT: "data" })).toEqual([]);
  });
});
