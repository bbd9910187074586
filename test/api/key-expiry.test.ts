// API keys with an expiry: `expires_at` on POST /v1/keys (RFC 3339, in the future), shown in the
// key view (null when none); an expired key answers 401 like a revoked one but stays listed.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KeyView } from "../../src/domain/keys.ts";
import { about, expectError, expectInvalid } from "../support/expect-error.ts";
import { fakeClockAfterIssuedIds, freshHarnessPerTest, json, type Page } from "../support/fixtures.ts";
import type { Harness } from "../support/harness.ts";
import { run } from "../support/process.ts";

const fresh = freshHarnessPerTest();
type CreatedKey = KeyView & { key: string };

async function createKey(h: Harness, body: Record<string, unknown>): Promise<CreatedKey> {
  const res = await h.call("POST", "/v1/keys", { body: { tenant_id: "acme", role: "viewer", ...body } });
  expect(res.status).toBe(201);
  return json<CreatedKey>(res);
}

async function listKeys(h: Harness): Promise<KeyView[]> {
  return (await json<Page<KeyView>>(await h.call("GET", "/v1/keys?tenant=acme"))).data;
}

describe("POST /v1/keys with expires_at", () => {
  test("works until expires_at, then 401; still listed with its expiry, and can be revoked", async () => {
    const clock = fakeClockAfterIssuedIds();
    const h = await fresh({}, { clock });
    const expiresAt = new Date(clock.now() + 3_600_000).toISOString();
    const k = await createKey(h, { name: "temp", expires_at: expiresAt });
    expect(k.expires_at).toBe(expiresAt);

    expect((await h.call("GET", "/v1/webhooks", { key: k.key })).status).toBe(200);
    clock.advance(3_600_000 - 1);
    expect((await h.call("GET", "/v1/webhooks", { key: k.key })).status).toBe(200);
    clock.advance(1); // exactly at expires_at
    const expired = await h.call("GET", "/v1/webhooks", { key: k.key });
    await expectError(expired, 401, "unauthorized");

    // Admins still see it, with the date it stopped working.
    const listed = (await listKeys(h)).find((x) => x.id === k.id);
    expect(listed).toMatchObject({ id: k.id, name: "temp", expires_at: expiresAt });
    expect((await h.call("DELETE", `/v1/keys/${k.id}`)).status).toBe(204);
    expect((await listKeys(h)).some((x) => x.id === k.id)).toBe(false);
  });

  test("without expires_at the key never expires and shows null", async () => {
    const clock = fakeClockAfterIssuedIds();
    const h = await fresh({}, { clock });
    const k = await createKey(h, {});
    expect(k.expires_at).toBeNull();
    expect((await listKeys(h)).find((x) => x.id === k.id)?.expires_at).toBeNull();
    clock.advance(10 * 365 * 86_400_000);
    expect((await h.call("GET", "/v1/webhooks", { key: k.key })).status).toBe(200);
  });

  test("an offset is honoured and the answer is in UTC", async () => {
    const clock = fakeClockAfterIssuedIds();
    const h = await fresh({}, { clock });
    const year = new Date(clock.now()).getUTCFullYear() + 1;
    const k = await createKey(h, { expires_at: `${year}-06-01T12:00:00+02:00` });
    expect(k.expires_at).toBe(`${year}-06-01T10:00:00.000Z`);
  });

  test("a past, present or malformed expires_at → 422 naming expires_at; nothing is created", async () => {
    const clock = fakeClockAfterIssuedIds();
    const h = await fresh({}, { clock });
    const year = new Date(clock.now()).getUTCFullYear() + 1;
    const cases: unknown[] = [
      new Date(clock.now() - 1000).toISOString(),
      new Date(clock.now()).toISOString(),
      `${year}-02-30T00:00:00Z`,
      `${year}-01-01T00:00:00`, // no time zone
      `${year}-01-01`,
      "tomorrow",
      1_900_000_000_000,
    ];
    for (const expires_at of cases) {
      const res = await h.call("POST", "/v1/keys", { body: { tenant_id: "acme", role: "viewer", expires_at } });
      await expectError(res, 422, "validation_failed", { errors: [about("expires_at")], label: String(expires_at) });
    }
    const past = await h.call("POST", "/v1/keys", {
      body: { tenant_id: "acme", role: "viewer", expires_at: new Date(clock.now() - 1000).toISOString() },
    });
    expect(await expectInvalid(past)).toEqual(["expires_at: must be in the future"]);
    // One design only: a lifetime is the CLI's --expires-in, not an API field.
    const viaDuration = await h.call("POST", "/v1/keys", { body: { tenant_id: "acme", role: "viewer", expires_in: "30d" } });
    expect(viaDuration.status).toBe(422);
    expect(await listKeys(h)).toEqual([]);
  });
});

describe("hookline keys create --expires-in", () => {
  const cwd = mkdtempSync(join(tmpdir(), "hookline-key-expiry-cli-"));
  afterAll(() => rmSync(cwd, { recursive: true, force: true }));
  const cli = (...args: string[]) => [process.execPath, join(import.meta.dir, "..", "..", "src", "main.ts"), ...args];

  test("sets expires_at that far ahead; list shows it; a bad duration → exit 2", async () => {
    const before = Date.now();
    const created = await run(cli("keys", "create", "--tenant", "acme", "--role", "viewer", "--expires-in", "30d"), { cwd });
    expect(created.code, created.stderr).toBe(0);
    const expires = /expires (\S+)\)/.exec(created.stderr)?.[1] as string;
    const at = Date.parse(expires);
    expect(at).toBeGreaterThanOrEqual(before + 30 * 86_400_000);
    expect(at).toBeLessThanOrEqual(Date.now() + 30 * 86_400_000);
    const list = await run(cli("keys", "list"), { cwd });
    expect(list.stdout).toContain(`\t${expires}\t`);

    const bad = await run(cli("keys", "create", "--tenant", "acme", "--role", "viewer", "--expires-in", "1 month"), { cwd });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--expires-in");
  }, 20_000);
});
