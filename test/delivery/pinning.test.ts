// The delivery goes to the address that was checked (no second lookup that DNS rebinding
// could flip), while Host and the TLS server name stay the webhook's (issue: SSRF guard).
import { afterAll, afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { createHttpPool } from "../../src/delivery/http-pool.ts";
import { createSender, type FetchLike, type Sender } from "../../src/delivery/sender.ts";
import { createEventTypes, createWebhook, type DeliveryView, getJson, publishForDelivery } from "../support/fixtures.ts";
import { type Harness, harness } from "../support/harness.ts";

const HOST = "hooks.example.test";
const tlsDir = join(import.meta.dir, "..", "fixtures", "tls");
const cert = await Bun.file(join(tlsDir, "cert.pem")).text();
const key = await Bun.file(join(tlsDir, "key.pem")).text();

let h: Harness;
let server: ReturnType<typeof Bun.serve> | undefined;
afterEach(async () => {
  await h?.close();
  await server?.stop(true);
});

const seen: { host: string | null; body: string }[] = [];
function tlsReceiver() {
  seen.length = 0;
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    tls: { cert, key },
    async fetch(req) {
      seen.push({ host: req.headers.get("host"), body: await req.text() });
      return new Response("ok");
    },
  });
  return server.port as number;
}

/** The real fetch, trusting the test CA; it keeps whatever server name the sender asks for. */
const trustingFetch: FetchLike = (url, init) => {
  const tls = (init as { tls?: Record<string, unknown> }).tls ?? {};
  return fetch(url, { ...init, tls: { ...tls, ca: cert } } as RequestInit);
};

/** The pooled client (the default), trusting the test CA. */
const pool = createHttpPool({ maxIdle: 8, ca: cert });
afterAll(() => pool.close());
const trustingPool: Sender = createSender(pool.transport);

async function setup(
  security: Record<string, unknown>,
  resolver: (h: string) => Promise<string[]>,
  seam: { fetch: FetchLike } | { send: Sender } = { fetch: trustingFetch },
) {
  h = await harness(
    { security: { allow_http: false, allow_private_networks: false, ...security }, delivery: { retry_schedule: [1_000] } },
    { resolver, ...seam },
  );
  await createEventTypes(h, ["member.added"]);
}

test.each([
  ["pool", { send: trustingPool }],
  ["fetch", { fetch: trustingFetch }],
] as const)("%s client: https to a pinned address keeps Host and the TLS server name (the certificate verifies)", async (_client, seam) => {
  const port = tlsReceiver();
  const asked: string[] = [];
  // 127.0.0.0/8 is allowed by allow_cidrs only: every other private range stays refused.
  await setup(
    { allow_cidrs: ["127.0.0.0/8"] },
    async (name) => {
      asked.push(name);
      return ["127.0.0.1"];
    },
    seam,
  );
  await createWebhook(h, { tenant_id: "acme", url: `https://${HOST}:${port}/in`, events: ["member.added"] });
  const { deliveryId } = await publishForDelivery(h, { tenant_id: "acme", type: "member.added", data: { a: 1 } });
  asked.length = 0;
  await h.dispatcher.dispatchOnce();
  const d = await getJson<DeliveryView>(h, `/v1/deliveries/${deliveryId}`);
  expect(d.attempts?.[0]?.error ?? null).toBeNull();
  expect(d.status).toBe("succeeded");
  expect(seen).toHaveLength(1);
  expect(seen[0]?.host).toBe(`${HOST}:${port}`);
  // One lookup per attempt: the one that was checked is the one connected to.
  expect(asked).toEqual([HOST]);
});

test("a rebinding resolver cannot steer the connection: the checked answer is the one used", async () => {
  const port = tlsReceiver();
  let calls = 0;
  const urls: string[] = [];
  // Answers alternate between an allowed address and a forbidden one.
  const rebinding = async () => (calls++ % 2 === 0 ? ["127.0.0.1"] : ["169.254.169.254"]);
  h = await harness(
    { security: { allow_http: false, allow_private_networks: false, allow_cidrs: ["127.0.0.0/8"] } },
    {
      resolver: rebinding,
      fetch: (url, init) => {
        urls.push(url);
        return trustingFetch(url, init);
      },
    },
  );
  await createEventTypes(h, ["member.added"]);
  await createWebhook(h, { tenant_id: "acme", url: `https://${HOST}:${port}/in`, events: ["member.added"] }); // call 0
  const first = await publishForDelivery(h, { tenant_id: "acme", type: "member.added", data: {} });
  await h.dispatcher.dispatchOnce(); // call 1: forbidden → refused, nothing sent
  const refused = await getJson<DeliveryView>(h, `/v1/deliveries/${first.deliveryId}`);
  expect(refused.last_error).toStartWith("destination refused:");
  expect(urls).toEqual([]);
  expect((await h.call("POST", `/v1/deliveries/${first.deliveryId}/retry`)).status).toBe(202);
  await h.dispatcher.dispatchOnce(); // call 2: allowed → sent to exactly that address
  expect(urls).toEqual([`https://127.0.0.1:${port}/in`]);
  expect(seen).toHaveLength(1);
});

test("deny_cidrs refuses a public range at creation and at delivery; allow_cidrs admits only its range", async () => {
  let answer = ["93.184.215.14"];
  await setup({ deny_cidrs: ["93.184.0.0/16"], allow_cidrs: ["10.9.0.0/16"] }, async () => answer);
  const denied = await h.call("POST", "/v1/webhooks", {
    body: { tenant_id: "acme", url: `https://${HOST}/a`, events: ["member.added"] },
  });
  expect(denied.status).toBe(422);
  expect(((await denied.json()) as { errors: string[] }).errors).toEqual([
    `url: host '${HOST}': destination not allowed (it resolves to an address in security.deny_cidrs)`,
  ]);

  answer = ["10.9.1.1"];
  expect((await h.call("POST", "/v1/webhooks", { body: { tenant_id: "acme", url: `https://${HOST}/a`, events: ["member.added"] } })).status).toBe(201);
  answer = ["10.8.1.1"];
  const other = await h.call("POST", "/v1/webhooks", { body: { tenant_id: "acme", url: `https://${HOST}/b`, events: ["member.added"] } });
  expect(other.status).toBe(422);

  // At delivery the name now points into the denied range: refused, nothing sent.
  const { deliveryId } = await publishForDelivery(h, { tenant_id: "acme", type: "member.added", data: {} });
  answer = ["93.184.1.1"];
  await h.dispatcher.dispatchOnce();
  const d = await getJson<DeliveryView>(h, `/v1/deliveries/${deliveryId}`);
  expect(d.last_error).toBe(`destination refused: host '${HOST}': destination not allowed (it resolves to an address in security.deny_cidrs)`);
});
