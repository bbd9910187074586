// payload_format "data" (API.md §14) end to end, on SQLite and on PostgreSQL: a real receiver
// gets the published `data` byte for byte — key order, spacing, newlines, \u escapes and a
// number past a double's precision as the client wrote them — signed as every delivery is
// (standardwebhooks verifies it, the hex header is the HMAC of those bytes). Envelope types,
// the test endpoint and a type changed after publishing keep what they had.
import { afterEach, describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { Webhook } from "standardwebhooks";
import { createApp } from "../../src/api/app.ts";
import type { Config } from "../../src/config/types.ts";
import { connectPostgres } from "../../src/db/pg/client.ts";
import { applyPgMigrations } from "../../src/db/pg/migrate.ts";
import { createPostgresStore } from "../../src/db/pg/store.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { createRuntime } from "../../src/runtime.ts";
import { harness, publicResolver, ROOT_KEY, testConfig } from "../support/harness.ts";
import { describePostgres, freshDatabase, postgresTest } from "../support/postgres.ts";
import { type Received, type Receiver, receiver } from "../support/receiver.ts";

type DeepPartialConfig = Parameters<typeof testConfig>[0];
const BASE: DeepPartialConfig = {
  security: { allow_http: true, allow_private_networks: true },
  signing: { hex_header: "X-Signature" },
};

/** A running Hookline (API and dispatcher) on one store, called over a loopback socket. */
interface Rig {
  call(method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }>;
  close(): Promise<void>;
}

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function serve(app: { handle(req: Request): Promise<Response> | Response }) {
  const http = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (req) => app.handle(req) });
  const call: Rig["call"] = async (method, path, body) => {
    const res = await fetch(`${http.url.origin}${path}`, {
      method,
      headers: { authorization: `Bearer ${ROOT_KEY}`, "content-type": "application/json" },
      // A string is sent as written: the bytes under test.
      ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text === "" ? {} : (JSON.parse(text) as Record<string, unknown>) };
  };
  return { call, stop: () => http.stop(true) };
}

async function sqliteRig(overrides: DeepPartialConfig): Promise<Rig> {
  const h = await harness({ ...BASE, ...overrides }, { autoDispatch: true });
  const { call, stop } = serve(h.app);
  return {
    call,
    async close() {
      await stop();
      await h.close();
    },
  };
}

async function postgresRig(overrides: DeepPartialConfig): Promise<Rig> {
  const url = await freshDatabase();
  const client = connectPostgres(url, 4);
  await applyPgMigrations(client);
  const config: Config = testConfig({ ...BASE, ...overrides });
  const store = createPostgresStore(client, { replicaId: "payload-format", leaseClock: "database" });
  const rt = createRuntime(config, store, { logger: createLogger("silent"), resolver: publicResolver });
  rt.dispatcher.start();
  const { call, stop } = serve(createApp(rt.deps));
  return {
    call,
    async close() {
      await stop();
      await rt.dispatcher.stop(0);
      rt.closeOutbound();
      await store.close();
    },
  };
}

// Shapes a team's receivers already parse (README "Moving existing webhooks to Hookline"),
// written with odd spacing and key order on purpose.
const ORG_EVENT = `{"timestamp" : "2026-03-01T10:00:00Z",
  "event":"invoice.paid",   "organization":{"id":"org_1","name":"Caf\\u00e9 \\ud83d\\ude00 Zoë"},
\t"data":{"amount":12345678901234567890,"ratio":1.50,"data":{"nested":true},"empty":{}, "list":[ 1 ,2 ]}
}`;
const STRIPE_LIKE = `{
  "type": "charge.succeeded",
  "data": {
    "object": { "id": "ch_1", "amount": 2000, "currency": "eur", "metadata": { "note": "\\"quoted\\" \\\\ \\/ \\n" } }
  }
}`;

/** A publish body with `data` written last, after whitespace: what a client's own serialiser might send. */
function publishBody(type: string, data: string): string {
  return `{ "tenant_id" : "acme",\n "type":"${type}",\n  "data" :  ${data}\n}`;
}

function verify(secret: string, got: Received): void {
  expect(() => new Webhook(secret).verify(got.body, got.headers)).not.toThrow();
  expect(got.headers["x-signature"]).toBe(createHmac("sha256", secret).update(got.body).digest("hex"));
  expect(got.headers["content-type"]).toBe("application/json");
}

function scenarios(name: string, open: (overrides: DeepPartialConfig) => Promise<Rig>, wrap: (name: string, fn: () => Promise<void>) => void) {
  async function setup(overrides: DeepPartialConfig = {}) {
    const rig = await open(overrides);
    cleanups.push(() => rig.close());
    const sink: Receiver = receiver(200);
    cleanups.push(() => sink.stop());
    return { rig, sink };
  }

  async function subscribe(rig: Rig, sink: Receiver): Promise<{ id: string; secret: string }> {
    const made = await rig.call("POST", "/v1/webhooks", { tenant_id: "acme", url: `${sink.url}/hook`, events: ["*"] });
    expect(made.status).toBe(201);
    return made.body as { id: string; secret: string };
  }

  wrap(`[${name}] a "data" type's receiver gets data byte for byte, signed; an envelope type is unchanged`, async () => {
    const { rig, sink } = await setup();
    expect((await rig.call("POST", "/v1/event-types", { name: "invoice.paid", payload_format: "data" })).status).toBe(201);
    expect((await rig.call("POST", "/v1/event-types", { name: "charge.succeeded", payload_format: "data" })).status).toBe(201);
    expect((await rig.call("POST", "/v1/event-types", { name: "member.added" })).status).toBe(201);
    const wh = await subscribe(rig, sink);

    const a = await rig.call("POST", "/v1/events", publishBody("invoice.paid", ORG_EVENT));
    expect(a.status).toBe(202);
    await sink.waitFor(1);
    const b = await rig.call("POST", "/v1/events", publishBody("charge.succeeded", STRIPE_LIKE));
    expect(b.status).toBe(202);
    await sink.waitFor(2);
    const c = await rig.call("POST", "/v1/events", publishBody("member.added", '{ "member_id" : "m_1" }'));
    expect(c.status).toBe(202);
    await sink.waitFor(3);

    const [first, second, third] = sink.received as [Received, Received, Received];
    expect(first.body).toBe(ORG_EVENT);
    expect(second.body).toBe(STRIPE_LIKE);
    for (const got of [first, second, third]) verify(wh.secret, got);
    expect(first.headers["webhook-id"]).toBe(a.body.id as string);
    // The envelope, as before: re-serialised, the type and tenant around the data.
    expect(JSON.parse(third.body)).toEqual({
      id: c.body.id,
      type: "member.added",
      timestamp: c.body.created_at,
      tenant_id: "acme",
      data: { member_id: "m_1" },
    });

    // The API shows the event's data parsed, and which body was sent.
    const shown = await rig.call("GET", `/v1/events/${a.body.id}`);
    expect(shown.body).toMatchObject({ payload_format: "data", data: JSON.parse(ORG_EVENT) });
    expect((await rig.call("GET", `/v1/events/${c.body.id}`)).body).toMatchObject({ payload_format: "envelope", data: { member_id: "m_1" } });
  });

  wrap(`[${name}] a manual retry sends the same bytes, even after the type went back to envelopes`, async () => {
    const { rig, sink } = await setup();
    expect((await rig.call("POST", "/v1/event-types", { name: "invoice.paid", payload_format: "data" })).status).toBe(201);
    const wh = await subscribe(rig, sink);
    const ev = await rig.call("POST", "/v1/events", publishBody("invoice.paid", ORG_EVENT));
    await sink.waitFor(1);
    const patched = await rig.call("PATCH", "/v1/event-types/invoice.paid", { payload_format: "envelope" });
    expect(patched).toMatchObject({ status: 200, body: { payload_format: "envelope" } });

    const shown = await rig.call("GET", `/v1/events/${ev.body.id}`);
    const deliveries = shown.body.deliveries as { id: string }[];
    expect((await rig.call("POST", `/v1/deliveries/${deliveries[0]?.id}/retry`)).status).toBe(202);
    await sink.waitFor(2);
    expect(sink.received[1]?.body).toBe(ORG_EVENT);
    verify(wh.secret, sink.received[1] as Received);

    // Published from now on: an envelope.
    const next = await rig.call("POST", "/v1/events", publishBody("invoice.paid", ORG_EVENT));
    await sink.waitFor(3);
    expect(JSON.parse(sink.received[2]?.body ?? "")).toMatchObject({ id: next.body.id, type: "invoice.paid" });
  });

  wrap(`[${name}] delivery.payload_format = "data" is the default; a type may say envelope; the test event stays one`, async () => {
    const { rig, sink } = await setup({ delivery: { payload_format: "data" } });
    expect((await rig.call("POST", "/v1/event-types", { name: "invoice.paid" })).status).toBe(201);
    expect((await rig.call("POST", "/v1/event-types", { name: "member.added", payload_format: "envelope" })).status).toBe(201);
    const types = (await rig.call("GET", "/v1/event-types")).body.data as { name: string; payload_format: string }[];
    const format = Object.fromEntries(types.map((t) => [t.name, t.payload_format]));
    expect(format).toMatchObject({ "invoice.paid": "data", "member.added": "envelope", "webhook.test": "envelope" });
    const wh = await subscribe(rig, sink);

    await rig.call("POST", "/v1/events", publishBody("invoice.paid", ORG_EVENT));
    await sink.waitFor(1);
    const env = await rig.call("POST", "/v1/events", publishBody("member.added", '{"member_id":"m_1"}'));
    await sink.waitFor(2);
    expect((await rig.call("POST", `/v1/webhooks/${wh.id}/test`)).status).toBe(202);
    await sink.waitFor(3);

    expect(sink.received[0]?.body).toBe(ORG_EVENT);
    expect(JSON.parse(sink.received[1]?.body ?? "")).toMatchObject({ id: env.body.id, data: { member_id: "m_1" } });
    expect(JSON.parse(sink.received[2]?.body ?? "")).toMatchObject({ type: "webhook.test", data: { webhook_id: wh.id } });
    for (const got of sink.received) verify(wh.secret, got);
  });
}

describe("payload_format on SQLite", () => {
  scenarios("sqlite", sqliteRig, test);
});

describePostgres("payload_format on PostgreSQL", () => {
  scenarios("postgres", postgresRig, postgresTest);
});
