// API keys: looked up by hash on every request, listed for admins, revoked for good.
import { expect, test } from "bun:test";
import { describeEveryStore } from "./describe-store.ts";
import { keyRecord, timeAfterIssuedIds } from "./records.ts";

describeEveryStore("keys", (getStore) => {
  test("a key inserted is found by id and by hash, field for field", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const never = keyRecord({ createdAt: t, role: "viewer", tenantId: "acme" });
    const expiring = keyRecord({ createdAt: t + 1, role: "publisher", expiresAt: t + 86_400_000 });
    // A portal link's token is a row of its own kind, listed with the keys.
    const portal = keyRecord({ createdAt: t + 2, role: "admin", tenantId: "acme", expiresAt: t + 3_600_000, kind: "portal" });
    await store.insertKey(never);
    await store.insertKey(expiring);
    await store.insertKey(portal);
    expect(await store.getKey(never.id)).toEqual(never);
    expect(await store.findKeyByHash(never.hash)).toEqual(never);
    expect(await store.findKeyByHash(expiring.hash)).toEqual(expiring);
    expect(await store.findKeyByHash(portal.hash)).toEqual(portal);
    expect((await store.listKeys({ limit: 10, tenantId: "acme" })).map((k) => [k.id, k.kind])).toEqual([
      [portal.id, "portal"],
      [expiring.id, "key"],
      [never.id, "key"],
    ]);
  });

  test("an unknown id or hash finds nothing", async () => {
    const store = getStore();
    await store.insertKey(keyRecord({ createdAt: timeAfterIssuedIds() }));
    expect(await store.getKey("key_01ARZ3NDEKTSV4RRFFQ69G5FAV")).toBeUndefined();
    expect(await store.findKeyByHash("no-such-hash")).toBeUndefined();
  });

  test("revoking sets revokedAt once: true the first time, false after, and the first time stays", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const key = keyRecord({ createdAt: t });
    await store.insertKey(key);
    expect(await store.revokeKey(key.id, t + 5)).toBe(true);
    expect(await store.revokeKey(key.id, t + 9)).toBe(false);
    expect((await store.getKey(key.id))?.revokedAt).toBe(t + 5);
  });

  test("revoking an unknown key says false", async () => {
    expect(await getStore().revokeKey("key_01ARZ3NDEKTSV4RRFFQ69G5FAV", timeAfterIssuedIds())).toBe(false);
  });

  test("a revoked key is seen revoked by the next lookup by hash (no stale cache in this process)", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const key = keyRecord({ createdAt: t });
    await store.insertKey(key);
    expect((await store.findKeyByHash(key.hash))?.revokedAt).toBeNull();
    await store.revokeKey(key.id, t + 1);
    expect((await store.findKeyByHash(key.hash))?.revokedAt).toBe(t + 1);
  });

  test("the list leaves revoked keys out and keeps expired ones, newest first", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const old = keyRecord({ createdAt: t, expiresAt: t + 1 });
    const revoked = keyRecord({ createdAt: t + 1 });
    const fresh = keyRecord({ createdAt: t + 2 });
    for (const k of [old, revoked, fresh]) await store.insertKey(k);
    await store.revokeKey(revoked.id, t + 3);
    const listed = await store.listKeys({ limit: 10 });
    expect(listed.map((k) => k.id)).toEqual([fresh.id, old.id]);
  });

  test("the list filtered by tenant shows only that tenant's keys", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    const acme = keyRecord({ createdAt: t, tenantId: "acme" });
    const globex = keyRecord({ createdAt: t + 1, tenantId: "globex" });
    await store.insertKey(acme);
    await store.insertKey(globex);
    expect((await store.listKeys({ limit: 10, tenantId: "globex" })).map((k) => k.id)).toEqual([globex.id]);
    expect((await store.listKeys({ limit: 10 })).map((k) => k.id)).toEqual([globex.id, acme.id]);
  });

  test("active keys are counted across tenants, revoked ones not", async () => {
    const store = getStore();
    const t = timeAfterIssuedIds();
    expect(await store.countActiveKeys()).toBe(0);
    const keys = [keyRecord({ createdAt: t }), keyRecord({ createdAt: t + 1, tenantId: "globex" }), keyRecord({ createdAt: t + 2 })];
    for (const k of keys) await store.insertKey(k);
    await store.revokeKey(keys[0]?.id ?? "", t + 3);
    expect(await store.countActiveKeys()).toBe(2);
  });
});
