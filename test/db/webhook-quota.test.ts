// security.max_webhooks_per_tenant is a store operation (insertWebhook with a quota): the count
// and the insert are one IMMEDIATE transaction, so writers on other connections (other
// processes on the same file) cannot interleave between them and overshoot the quota. The
// in-process case (concurrent API calls) is test/api/limits.test.ts.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openSqliteStore } from "../../src/db/open-store.ts";
import type { WebhookRecord } from "../../src/domain/store.ts";
import { webhookRecord } from "../store-contract/records.ts";
import { testConfig } from "../support/harness.ts";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "hookline-quota-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let serial = 0;
function webhook(tenantId: string, url = `https://receiver.example/${++serial}`): WebhookRecord {
  return webhookRecord({ tenantId, url, createdAt: Date.now() });
}

describe("insertWebhook within a quota", () => {
  test("the quota is checked first, then the URL; the answer says how many the tenant has", async () => {
    const opened = openSqliteStore(testConfig({}, join(dir, "order.db")), { writer: "local" });
    try {
      const { store } = opened;
      const first = webhook("acme", "https://receiver.example/same");
      expect(await store.insertWebhook(first, { maxPerTenant: 2 })).toEqual({ ok: true });
      expect(await store.insertWebhook(webhook("acme", first.url), { maxPerTenant: 2 })).toEqual({ ok: false, reason: "duplicate" });
      expect(await store.insertWebhook(webhook("acme"), { maxPerTenant: 2 })).toEqual({ ok: true });
      // Full: a duplicate is refused for the quota, as before the URL was looked at.
      expect(await store.insertWebhook(webhook("acme", first.url), { maxPerTenant: 2 })).toEqual({ ok: false, reason: "quota", count: 2 });
      expect(await store.insertWebhook(webhook("acme"), { maxPerTenant: 2 })).toEqual({ ok: false, reason: "quota", count: 2 });
      // Per tenant; and without a quota nothing is counted.
      expect(await store.insertWebhook(webhook("beta"), { maxPerTenant: 2 })).toEqual({ ok: true });
      expect(await store.insertWebhook(webhook("acme"))).toEqual({ ok: true });
      expect(await store.countWebhooks("acme")).toBe(3);
    } finally {
      await opened.close();
    }
  });

  test("processes racing on one file cannot overshoot it", async () => {
    const path = join(dir, "race.db");
    // Migrated before the racers start, so they race on inserts, not on the schema.
    const setup = openSqliteStore(testConfig({}, path), { writer: "local" });
    await setup.close();
    const RACERS = 4;
    const ATTEMPTS = 40;
    const MAX = 30;
    const tenants = ["acme", "beta"];
    const racer = join(import.meta.dir, "quota-racer.ts");
    const procs = Array.from({ length: RACERS }, (_, n) =>
      Bun.spawn([process.execPath, racer, path, String(ATTEMPTS), String(MAX), `r${n}`, ...tenants], {
        stdin: "pipe",
        stdout: "pipe",
        stderr: "inherit",
      }),
    );
    try {
      const readers = procs.map((p) => p.stdout.getReader());
      const decoder = new TextDecoder();
      // Every racer has its store open before any inserts: the positive event the start waits for.
      await Promise.all(
        readers.map(async (r) => {
          const { value } = await r.read();
          expect(decoder.decode(value)).toStartWith("ready");
        }),
      );
      for (const p of procs) {
        p.stdin.write("go\n");
        await p.stdin.end();
      }
      const answers = await Promise.all(
        readers.map(async (r, n) => {
          let text = "";
          for (;;) {
            const { value, done } = await r.read();
            if (done) break;
            text += decoder.decode(value);
          }
          expect(await procs[n]?.exited).toBe(0);
          return JSON.parse(text.trim()) as string[];
        }),
      );
      const all = answers.flat();
      expect(all).toHaveLength(RACERS * ATTEMPTS);
      for (const tenant of tenants) {
        const mine = all.filter((a) => a.startsWith(`${tenant}:`));
        expect(mine.filter((a) => a.endsWith(":ok"))).toHaveLength(MAX);
        expect(mine.filter((a) => a.endsWith(":quota"))).toHaveLength(mine.length - MAX);
      }
      const check = openSqliteStore(testConfig({}, path), { writer: "local" });
      try {
        expect(await check.store.countWebhooks("acme")).toBe(MAX);
        expect(await check.store.countWebhooks("beta")).toBe(MAX);
      } finally {
        await check.close();
      }
    } finally {
      for (const p of procs) if (p.exitCode === null) p.kill();
    }
  }, 30_000);
});
