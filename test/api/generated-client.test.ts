// A client generated from the served document (openapi-typescript types, console/src/api/schema.d.ts
// — the console's own, so there is one generated file — kept current by openapi-contract.test.ts) drives the main flow with openapi-fetch, and every
// answer is checked against the schema the document declares for it. That the request bodies
// below typecheck at all is part of the proof: with `content: {}` they were typed `never`.
import { afterAll, beforeAll, expect, test } from "bun:test";
import createClient from "openapi-fetch";
import type { paths } from "../../console/src/api/schema.d.ts";
import { type Harness, harness, ROOT_KEY } from "../support/harness.ts";
import { type ResponseChecker, responseChecker } from "../support/openapi-check.ts";
import { type Receiver, receiver } from "../support/receiver.ts";

let h: Harness;
let r: Receiver;
let checker: ResponseChecker;

beforeAll(async () => {
  h = await harness({ security: { allow_http: true, allow_private_networks: true } });
  r = receiver(200);
  const doc = (await (await fetch(`${h.url}/openapi.json`)).json()) as Record<string, unknown>;
  checker = responseChecker(doc);
});
afterAll(async () => {
  await r?.stop();
  await h?.close();
});

/** Asserts the status, then that the body fits what the document declares for that answer. */
function fits(path: string, method: string, res: { response: Response; data?: unknown; error?: unknown }, status: number) {
  expect(res.response.status).toBe(status);
  const body = res.data ?? res.error;
  expect(checker.problems(path, method, status, body)).toEqual([]);
}

test("event type → webhook → publish → event → deliveries → delivery with attempts, through a generated client", async () => {
  const api = createClient<paths>({ baseUrl: h.url, headers: { authorization: `Bearer ${ROOT_KEY}` } });

  const type = await api.POST("/v1/event-types", { body: { name: "member.added", description: "A member joined." } });
  fits("/v1/event-types", "post", type, 201);

  const created = await api.POST("/v1/webhooks", {
    body: { tenant_id: "acme", url: `${r.url}/hook`, events: ["member.*"], description: "generated client" },
  });
  fits("/v1/webhooks", "post", created, 201);
  const webhookId = created.data?.id as string;
  expect(created.data?.secret).toStartWith("whsec_");

  const patched = await api.PATCH("/v1/webhooks/{id}", {
    params: { path: { id: webhookId } },
    body: { description: "generated client, patched" },
  });
  fits("/v1/webhooks/{id}", "patch", patched, 200);
  expect(patched.data?.description).toBe("generated client, patched");

  const published = await api.POST("/v1/events", {
    body: { tenant_id: "acme", type: "member.added", data: { member_id: "m_1" } },
  });
  fits("/v1/events", "post", published, 202);
  expect(published.data?.deliveries).toBe(1);
  const eventId = published.data?.id as string;

  expect(await h.dispatcher.dispatchOnce()).toBe(1);
  await r.waitFor(1);

  const event = await api.GET("/v1/events/{id}", { params: { path: { id: eventId } } });
  fits("/v1/events/{id}", "get", event, 200);
  const deliveryId = event.data?.deliveries[0]?.id as string;
  expect(deliveryId).toStartWith("dlv_");

  const list = await api.GET("/v1/webhooks/{id}/deliveries", { params: { path: { id: webhookId }, query: { limit: "10" } } });
  fits("/v1/webhooks/{id}/deliveries", "get", list, 200);
  expect(list.data?.data.map((d) => d.id)).toEqual([deliveryId]);

  const delivery = await api.GET("/v1/deliveries/{id}", { params: { path: { id: deliveryId } } });
  fits("/v1/deliveries/{id}", "get", delivery, 200);
  expect(delivery.data?.status).toBe("succeeded");
  expect(delivery.data?.attempts?.[0]).toMatchObject({ n: 1, status_code: 200 });

  const listed = await api.GET("/v1/webhooks", { params: { query: { tenant: "acme" } } });
  fits("/v1/webhooks", "get", listed, 200);

  // Errors are documented too: the envelope of a 422 and of a 404.
  const invalid = await api.POST("/v1/webhooks", { body: { tenant_id: "acme", url: "not a url", events: ["member.*"] } });
  fits("/v1/webhooks", "post", invalid, 422);
  const missing = await api.GET("/v1/deliveries/{id}", { params: { path: { id: "dlv_01J00000000000000000000000" } } });
  fits("/v1/deliveries/{id}", "get", missing, 404);

  const removed = await api.DELETE("/v1/webhooks/{id}", { params: { path: { id: webhookId } } });
  expect(removed.response.status).toBe(204);
});

test("the checker has teeth: an answer that does not fit its schema is reported", () => {
  expect(checker.problems("/v1/deliveries/{id}", "get", 200, { id: 1 })).not.toEqual([]);
  expect(checker.problems("/v1/webhooks", "post", 422, { error: "validation_failed" })).not.toEqual([]);
});
