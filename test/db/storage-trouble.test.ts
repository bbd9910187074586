// API.md §10 "Storage trouble": an unwritable database is a 503 with Retry-After, not a 500,
// and service resumes by itself.
import { afterEach, expect, test } from "bun:test";
import { type Harness, harness } from "../support/harness.ts";

let h: Harness;
afterEach(async () => h?.close());

test("writes answer 503 storage_unavailable while the database refuses writes, then recover", async () => {
  h = await harness({}, { autoDispatch: true });
  // query_only makes every write fail with SQLITE_READONLY, as a read-only volume would.
  await h.refuseWrites(true);
  const refused = await h.call("POST", "/v1/event-types", { body: { name: "invoice.paid" } });
  expect(refused.status).toBe(503);
  expect(refused.headers.get("retry-after")).toBe("5");
  expect(await refused.json()).toMatchObject({ error: "storage_unavailable" });
  // Reads keep working.
  expect((await h.call("GET", "/v1/event-types")).status).toBe(200);
  const ready = await h.call("GET", "/readyz", { key: null });
  expect(ready.status).toBe(503);

  await h.refuseWrites(false);
  expect((await h.call("POST", "/v1/event-types", { body: { name: "invoice.paid" } })).status).toBe(201);
  expect((await h.call("GET", "/readyz", { key: null })).status).toBe(200);
});

test("/readyz is 503 while the dispatcher is not running", async () => {
  h = await harness();
  const res = await h.call("GET", "/readyz", { key: null });
  expect(res.status).toBe(503);
  expect(await res.json()).toEqual({ status: "unavailable", store: "sqlite", checks: { database: true, dispatcher: false } });
  h.dispatcher.start();
  expect((await h.call("GET", "/readyz", { key: null })).status).toBe(200);
});
