// GET /v1/webhooks?event=: the SQLite store pages by id and matches patterns with the domain's
// own matchesAny (no SQL twin of it). The pages must be the ones an SQL filter would give: the
// matching webhooks newest first, limit + 1 rows so "is there more" is exact, and a cursor (the
// last id shown) that neither skips nor repeats one, across the store's internal read chunks.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openSqliteStore, type SqliteOpenedStore } from "../../src/db/open-store.ts";
import { matchesAny } from "../../src/domain/event-patterns.ts";
import type { WebhookFilter, WebhookRecord } from "../../src/domain/store.ts";
import { newId } from "../../src/lib/ids.ts";
import { testConfig } from "../support/harness.ts";

// Every kind of pattern: exact, prefix at two depths, a prefix that is not a word boundary of
// another ("memberx.*"), the operational ones that "*" does not cover, and "*".
const PATTERNS = [
  "*",
  "member.*",
  "member.team.*",
  "member.added",
  "member.team.added",
  "memberx.*",
  "invoice.paid",
  "invoice.*",
  "hookline.*",
  "hookline.webhook.disabled",
  "webhook.test",
];
const TYPES = [
  "member.added",
  "member.team.added",
  "member.removed",
  "memberx.added",
  "invoice.paid",
  "invoice.refund.created",
  "hookline.webhook.disabled",
  "hookline.delivery.exhausted",
  "webhook.test",
  "nothing.subscribes",
];
const TENANTS = ["acme", "beta", "gamma"];
// More than the store's first chunks (64, then 128, 256…), so rare types page across several.
const COUNT = 900;

let dir: string;
let opened: SqliteOpenedStore;
const all: WebhookRecord[] = [];

/** A deterministic pseudo-random sequence (the same webhooks every run). */
function lcg(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1_103_515_245 + 12_345) % 2 ** 31;
    return x / 2 ** 31;
  };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "hookline-listing-"));
  opened = openSqliteStore(testConfig({ database: { synchronous: "normal" } }, join(dir, "hookline.db")), { writer: "local" });
  const random = lcg(16);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
  const t0 = Date.now();
  for (let i = 0; i < COUNT; i++) {
    // Mostly one or two patterns; "*" and the broad prefixes rarer, so some types are rare.
    const events = [...new Set(Array.from({ length: 1 + Math.floor(random() * 2) }, () => pick(PATTERNS)))].filter(
      (p) => !(p === "*" || p === "member.*") || random() < 0.15,
    );
    if (events.length === 0) events.push("invoice.paid");
    const at = t0 + i;
    const record: WebhookRecord = {
      id: newId("wh", at),
      tenantId: pick(TENANTS),
      url: `https://receiver.example/${i}`,
      events,
      description: "",
      headers: {},
      secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
      previousSecret: null,
      previousSecretExpiresAt: null,
      enabled: random() < 0.8,
      disabledReason: null,
      failureCount: 0,
      failingSince: null,
      createdAt: at,
      updatedAt: at,
    };
    expect(await opened.store.insertWebhook(record)).toEqual({ ok: true });
    all.push(record);
  }
});
afterAll(async () => {
  await opened.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Every page of the filter, following the cursor as the API does (the last id shown). */
async function walk(filter: Omit<WebhookFilter, "limit" | "before">, limit: number): Promise<string[]> {
  const seen: string[] = [];
  let before: string | undefined;
  for (;;) {
    const rows = await opened.store.listWebhooks({ ...filter, limit, ...(before ? { before } : {}) });
    expect(rows.length).toBeLessThanOrEqual(limit + 1);
    const page = rows.slice(0, limit);
    seen.push(...page.map((r) => r.id));
    if (rows.length <= limit) return seen;
    before = page[page.length - 1]?.id;
  }
}

function expected(filter: Omit<WebhookFilter, "limit" | "before">): string[] {
  return all
    .filter((w) => filter.tenantId === undefined || w.tenantId === filter.tenantId)
    .filter((w) => filter.enabled === undefined || w.enabled === filter.enabled)
    .filter((w) => filter.eventType === undefined || matchesAny(w.events, filter.eventType))
    .map((w) => w.id)
    .sort()
    .reverse();
}

describe("listWebhooks with an event type", () => {
  test.each(TYPES)("%s: every page as the domain's matcher says, newest first, in every scope", async (type) => {
    for (const scope of [{}, { tenantId: "beta" }, { tenantId: "acme", enabled: true }, { enabled: false }]) {
      const filter = { ...scope, eventType: type };
      const want = expected(filter);
      for (const limit of [1, 7, 100]) expect(await walk(filter, limit)).toEqual(want);
    }
  });

  test("a full page of matches comes back with its limit + 1 row, and rows are whole (secrets readable)", async () => {
    const want = expected({ eventType: "member.added" });
    expect(want.length).toBeGreaterThan(101);
    const rows = await opened.store.listWebhooks({ eventType: "member.added", limit: 100 });
    expect(rows.map((r) => r.id)).toEqual(want.slice(0, 101));
    expect(rows[0]).toEqual(all.find((w) => w.id === rows[0]?.id) as WebhookRecord);
  });

  test("without an event type, the plain pages are unchanged", async () => {
    expect(await walk({ tenantId: "gamma" }, 50)).toEqual(expected({ tenantId: "gamma" }));
  });
});
