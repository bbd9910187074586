// Custom headers whose name says they carry a credential (`authorization`, `*-token`, `*-key`,
// `cookie`, …): encrypted at rest with security.encryption_key, masked in every answer but the
// create one, kept when a client PATCHes the masked form back, and sent for real to receivers
// (claimed from the database, claimed by the ingest, and by the test endpoint).
import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { inspectDatabase } from "../../src/db/doctor.ts";
import { checkStoredSecrets, encryptStoredSecrets, HAS_PLAINTEXT } from "../../src/db/secrets-migration.ts";
import { createSecretBox } from "../../src/domain/secret-box.ts";
import {
  isSecretHeaderName,
  MASK,
  maskHeaders,
  maskValue,
  openHeaders,
  sealHeaders,
} from "../../src/domain/webhooks/secret-headers.ts";
import { expectInvalid } from "../support/expect-error.ts";
import {
  cleanupAfterEach,
  createEventTypes,
  type CreatedWebhook,
  getJson,
  json,
  type Page,
  publishEvent,
  type WebhookView,
} from "../support/fixtures.ts";
import { type Harness, harness } from "../support/harness.ts";
import { type Receiver, receiver } from "../support/receiver.ts";

const KEY = randomBytes(32).toString("base64");
const TOKEN = "Bearer abc123456";
const API_KEY = "k-9f8e7d6c5b4a";

let h: Harness;
const { track } = cleanupAfterEach(() => h);

describe("which headers are secret", () => {
  test.each([
    ["authorization", true],
    ["Authorization", true],
    ["cookie", true],
    ["x-api-key", true],
    ["apikey", true],
    ["x-auth-token", true],
    ["x-authtoken", true],
    ["private-token", true],
    ["x-amz-security-token", true],
    ["ocp-apim-subscription-key", true],
    ["x-client-secret", true],
    ["x-db-password", true],
    ["x-passwd", true],
    ["x-pwd", true],
    ["x-hub-signature", true],
    ["x-credentials", true],
    ["x-session-id", true],
    ["x-jwt-assertion", true],
    ["x-author", true], // a false positive: masked, harmless
    ["x-tenant", false],
    ["x-request-source", false],
    ["accept", false],
    ["x-custom", false],
    ["x-signed-by", false],
  ])("%p → %p", (name, secret) => {
    expect(isSecretHeaderName(name)).toBe(secret);
  });

  test("the SQL twin used by `secrets encrypt`, the start-up check and doctor agrees", () => {
    const db = new Database(":memory:");
    db.run("CREATE TABLE webhooks (id TEXT, secret TEXT, previous_secret TEXT, headers TEXT)");
    const names = ["authorization", "cookie", "x-api-key", "apikey", "x-hub-signature", "x-session-id", "x-tenant", "accept", "x-custom"];
    const insert = db.query<unknown, [string, string]>("INSERT INTO webhooks VALUES (?1, 'enc:v1:x', NULL, ?2)");
    for (const n of names) insert.run(n, JSON.stringify({ [n]: "plain value", "x-other": "enc:v1:y" }));
    const flagged = db.query<{ id: string }, []>(`SELECT id FROM webhooks WHERE ${HAS_PLAINTEXT}`).all().map((r) => r.id);
    expect(flagged.sort()).toEqual(names.filter(isSecretHeaderName).sort());
    db.close();
  });
});

describe("masking", () => {
  test.each([
    [TOKEN, `Bea${MASK}`],
    ["123456789012", `123${MASK}`],
    ["12345678901", MASK], // under 12 characters: masked whole
    ["abc", MASK],
    ["", MASK],
  ])("%p → %p", (value, masked) => {
    expect(maskValue(value)).toBe(masked);
  });

  test("only secret names are masked; sealing and opening round-trip and leave the others alone", () => {
    const headers = { authorization: TOKEN, "x-api-key": API_KEY, "x-tenant": "acme" };
    expect(maskHeaders(headers)).toEqual({ authorization: "Bea…(masked)", "x-api-key": "k-9…(masked)", "x-tenant": "acme" });
    const box = createSecretBox(KEY);
    const sealed = sealHeaders(headers, box);
    expect(sealed.authorization).toMatch(/^enc:v1:/);
    expect(sealed["x-api-key"]).toMatch(/^enc:v1:/);
    expect(sealed["x-tenant"]).toBe("acme");
    expect(openHeaders(sealed, box)).toEqual(headers);
    expect(sealHeaders(headers, createSecretBox(undefined))).toEqual(headers);
  });
});

// ---- through the API, with a real receiver -------------------------------------------------

async function setup(key: string | null = KEY, autoDispatch = false): Promise<Harness> {
  h = await harness(
    { security: { allow_http: true, allow_private_networks: true, ...(key ? { encryption_key: key } : {}) } },
    { autoDispatch },
  );
  await createEventTypes(h, ["member.added"]);
  return h;
}

async function subscribe(r: Receiver, headers: Record<string, string>): Promise<CreatedWebhook> {
  const res = await h.call("POST", "/v1/webhooks", {
    body: { tenant_id: "acme", url: `${r.url}/hook`, events: ["member.added"], headers },
  });
  expect(res.status).toBe(201);
  return json<CreatedWebhook>(res);
}

const rawHeaders = (id: string): string =>
  h.sqlite.query<{ headers: string }, [string]>("SELECT headers FROM webhooks WHERE id = ?").get(id)?.headers ?? "";

/** The database file and its WAL, byte for byte. */
function onDisk(): string {
  const path = h.deps.config.database.path;
  const read = (p: string) => (existsSync(p) ? readFileSync(p).toString("latin1") : "");
  return read(path) + read(`${path}-wal`);
}

const SENT = { authorization: TOKEN, "x-api-key": API_KEY, "x-tenant": "acme" };
const MASKED = { authorization: "Bea…(masked)", "x-api-key": "k-9…(masked)", "x-tenant": "acme" };

describe("with security.encryption_key", () => {
  test("201 shows the values in full; GET, list and PATCH answers mask them; the file holds ciphertext only", async () => {
    await setup();
    const r = track(receiver(204));
    const wh = await subscribe(r, SENT);
    expect(wh.headers).toEqual(SENT);

    expect((await getJson<WebhookView>(h, `/v1/webhooks/${wh.id}`)).headers).toEqual(MASKED);
    const list = await getJson<Page<WebhookView>>(h, "/v1/webhooks?tenant=acme");
    expect(list.data.map((w) => w.headers)).toEqual([MASKED]);
    const patched = await h.call("PATCH", `/v1/webhooks/${wh.id}`, { body: { description: "billing" } });
    expect(patched.status).toBe(200);
    expect((await json<WebhookView>(patched)).headers).toEqual(MASKED);

    const raw = JSON.parse(rawHeaders(wh.id)) as Record<string, string>;
    expect(raw.authorization).toMatch(/^enc:v1:/);
    expect(raw["x-api-key"]).toMatch(/^enc:v1:/);
    expect(raw["x-tenant"]).toBe("acme");
    const bytes = onDisk();
    expect(bytes.includes("abc123456")).toBe(false);
    expect(bytes.includes(API_KEY)).toBe(false);
  });

  test("a delivery claimed from the database sends the real values", async () => {
    await setup();
    const r = track(receiver(204));
    const wh = await subscribe(r, SENT);
    expect(rawHeaders(wh.id)).not.toContain("abc123456"); // what is sent is decrypted, not stored
    await publishEvent(h, { tenant_id: "acme", type: "member.added", data: {} });
    expect(await h.dispatcher.dispatchOnce()).toBe(1);
    await r.waitFor(1);
    expect(r.received[0]?.headers).toMatchObject(SENT);
  });

  test("deliveries claimed by their ingest (held ones too) and the test endpoint send the real values", async () => {
    await setup(KEY, true);
    const r = track(receiver(204));
    const wh = await subscribe(r, SENT);
    expect(rawHeaders(wh.id)).not.toContain("abc123456");
    for (let i = 0; i < 3; i++) await publishEvent(h, { tenant_id: "acme", type: "member.added", data: { i } });
    expect((await h.call("POST", `/v1/webhooks/${wh.id}/test`)).status).toBe(202);
    await r.waitFor(4);
    for (const got of r.received) expect(got.headers).toMatchObject(SENT);
  });

  test("a PATCH that sends the masked form back keeps the stored value; a changed one replaces it", async () => {
    await setup();
    const r = track(receiver(204));
    const wh = await subscribe(r, SENT);
    const shown = (await getJson<WebhookView>(h, `/v1/webhooks/${wh.id}`)).headers;
    // Read, add a header, write back: the masked values mean "unchanged".
    const res = await h.call("PATCH", `/v1/webhooks/${wh.id}`, { body: { headers: { ...shown, "x-extra": "1" } } });
    expect(res.status).toBe(200);
    expect((await json<WebhookView>(res)).headers).toEqual({ ...MASKED, "x-extra": "1" });
    expect(rawHeaders(wh.id)).not.toContain("masked");
    await publishEvent(h, { tenant_id: "acme", type: "member.added", data: {} });
    expect(await h.dispatcher.dispatchOnce()).toBe(1);
    await r.waitFor(1);
    expect(r.received[0]?.headers).toMatchObject({ ...SENT, "x-extra": "1" });

    // A new value replaces the old one; leaving a header out removes it.
    const next = await h.call("PATCH", `/v1/webhooks/${wh.id}`, { body: { headers: { authorization: "Basic dXNlcjpwYXNz" } } });
    expect((await json<WebhookView>(next)).headers).toEqual({ authorization: "Bas…(masked)" });
    await publishEvent(h, { tenant_id: "acme", type: "member.added", data: {} });
    expect(await h.dispatcher.dispatchOnce()).toBe(1);
    await r.waitFor(2);
    expect(r.received[1]?.headers.authorization).toBe("Basic dXNlcjpwYXNz");
    expect(r.received[1]?.headers["x-api-key"]).toBeUndefined();
  });

  test("a masked value that is not the stored one's mask, or at creation → 422, never stored", async () => {
    await setup();
    const r = track(receiver(204));
    const wh = await subscribe(r, SENT);
    const before = rawHeaders(wh.id);
    for (const headers of [
      { authorization: "Xyz…(masked)" }, // not the mask of the stored value
      { "x-other-token": "…(masked)" }, // nothing stored under this name
    ]) {
      const res = await h.call("PATCH", `/v1/webhooks/${wh.id}`, { body: { headers } });
      const errors = await expectInvalid(res);
      const name = Object.keys(headers)[0];
      expect(errors).toEqual([`headers.${name}: is a masked value that does not match the stored one; send the real value`]);
    }
    expect(rawHeaders(wh.id)).toBe(before);

    const created = await h.call("POST", "/v1/webhooks", {
      body: { tenant_id: "acme", url: `${r.url}/other`, events: ["member.added"], headers: { Authorization: "Bea…(masked)" } },
    });
    expect(await expectInvalid(created)).toEqual([
      "headers.Authorization: is a masked value; send the real value",
    ]);
  });

  test("a secret value starting with 'enc:' → 422: stored values with that prefix are read as ciphertext", async () => {
    await setup(null);
    const r = track(receiver(204));
    const res = await h.call("POST", "/v1/webhooks", {
      body: { tenant_id: "acme", url: `${r.url}/h`, events: ["member.added"], headers: { "X-Api-Key": "enc:abc", "x-tenant": "enc:ok" } },
    });
    expect(await expectInvalid(res)).toEqual([
      "headers.X-Api-Key: must not start with 'enc:' (the prefix of encrypted values)",
    ]);
  });

  test("errors about a secret header never echo its value", async () => {
    await setup();
    const r = track(receiver(204));
    const res = await h.call("POST", "/v1/webhooks", {
      body: { tenant_id: "acme", url: `${r.url}/h`, events: ["member.added"], headers: { authorization: `${TOKEN}\r\nx: 1` } },
    });
    expect(res.status).toBe(422);
    expect(await res.text()).not.toContain("abc123456");
  });
});

test("without a key the values are stored as sent (and `serve` warns), but answers still mask them", async () => {
  await setup(null);
  const r = track(receiver(204));
  const wh = await subscribe(r, SENT);
  expect(JSON.parse(rawHeaders(wh.id))).toEqual(SENT);
  expect((await getJson<WebhookView>(h, `/v1/webhooks/${wh.id}`)).headers).toEqual(MASKED);
});

test("an existing row with plaintext secret headers: found by the start-up check and doctor, encrypted by `secrets encrypt`", async () => {
  await setup();
  const r = track(receiver(204));
  const wh = await subscribe(r, SENT);
  // As a database encrypted before header values were secrets: signing secret sealed, headers plain.
  h.sqlite.query("UPDATE webhooks SET headers = ? WHERE id = ?").run(JSON.stringify(SENT), wh.id);
  const box = createSecretBox(KEY);
  expect(checkStoredSecrets(h.sqlite, box)).toEqual({ plaintext: true, encrypted: true });
  const path = h.deps.config.database.path;
  expect(inspectDatabase(path, { now: Date.now(), busyTimeoutMs: 1000 }).secrets).toEqual({ encrypted: 0, plaintext: 1 });

  const result = encryptStoredSecrets(h.sqlite, box);
  expect(result.encrypted).toBe(1);
  const raw = JSON.parse(rawHeaders(wh.id)) as Record<string, string>;
  expect(raw.authorization).toMatch(/^enc:v1:/);
  expect(raw["x-api-key"]).toMatch(/^enc:v1:/);
  expect(raw["x-tenant"]).toBe("acme");
  expect(checkStoredSecrets(h.sqlite, box)).toEqual({ plaintext: false, encrypted: true });
  expect(inspectDatabase(path, { now: Date.now(), busyTimeoutMs: 1000 }).secrets).toEqual({ encrypted: 1, plaintext: 0 });
  expect(encryptStoredSecrets(h.sqlite, box).encrypted).toBe(0);

  await publishEvent(h, { tenant_id: "acme", type: "member.added", data: {} });
  expect(await h.dispatcher.dispatchOnce()).toBe(1);
  await r.waitFor(1);
  expect(r.received[0]?.headers).toMatchObject(SENT);
});
