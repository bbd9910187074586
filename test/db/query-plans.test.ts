// Every statement that reads or writes deliveries uses an index: the table grows to millions of
// rows (the outbox and its log) and a full scan on a hot path would grow with it. The indexes
// are partial (one state each), which SQLite uses only when a query names the state as a
// literal; this records each statement the store prepares while the API and the dispatcher do
// their work, and checks SQLite's plan for it — on a read-only connection of its own: bun leaves
// an EXPLAIN of a write statement in progress on the connection that ran it, which then refuses
// the store's next write there (503 SQLITE_BUSY).
import { Database } from "bun:sqlite";
import { afterAll, beforeAll, expect, test } from "bun:test";
import { sweepOnce } from "../../src/delivery/sweep.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { createEventTypes, createWebhook, getJson, publishEvent, receiverTracker } from "../support/fixtures.ts";
import { type Harness, harness } from "../support/harness.ts";
import { receiver } from "../support/receiver.ts";

const prepared = new Set<string>();
const proto = Database.prototype as unknown as Record<"query" | "prepare", (sql: string, ...rest: unknown[]) => unknown>;
const original = { query: proto.query, prepare: proto.prepare };
let h: Harness;
let planner: Database | undefined;
const receivers = receiverTracker();

beforeAll(() => {
  for (const name of ["query", "prepare"] as const) {
    const fn = original[name];
    proto[name] = function (this: Database, sql: string, ...rest: unknown[]) {
      if (!sql.startsWith("EXPLAIN")) prepared.add(sql);
      return fn.call(this, sql, ...rest);
    };
  }
});

afterAll(async () => {
  proto.query = original.query;
  proto.prepare = original.prepare;
  planner?.close();
  await h?.close();
  await receivers.stopAll();
});

const open = { allow_http: true, allow_private_networks: true };

function planOf(sql: string): { detail: string }[] {
  planner ??= new Database(h.sqlite.filename, { readonly: true });
  return planner.query<{ detail: string }, []>(`EXPLAIN QUERY PLAN ${sql}`).all();
}

test("no statement on deliveries scans the table", async () => {
  h = await harness({ security: open, delivery: { retry_schedule: [1_000] }, retention: { days: 1, payload_days: 1 } });
  await createEventTypes(h, ["member.added"]);
  const ok = receivers.track(receiver(200));
  const failing = receivers.track(receiver(500));
  const good = await createWebhook(h, { tenant_id: "acme", url: `${ok.url}/ok`, events: ["member.added"] });
  const bad = await createWebhook(h, { tenant_id: "acme", url: `${failing.url}/bad`, events: ["member.added"] });
  for (let i = 0; i < 3; i++) await publishEvent(h, { tenant_id: "acme", type: "member.added", data: { i } });
  const now = Date.now();
  await h.dispatcher.dispatchOnce(now);
  await h.dispatcher.dispatchOnce(now + 2_000); // the retry: exhausted, failed
  for (const status of ["pending", "delivering", "succeeded", "failed"]) {
    await getJson(h, `/v1/webhooks/${bad.id}/deliveries?status=${status}`);
  }
  await getJson(h, `/v1/webhooks/${good.id}/deliveries`);
  await getJson(h, `/v1/webhooks/${bad.id}/stats`);
  expect((await h.call("POST", `/v1/webhooks/${bad.id}/recover`, { body: { since: new Date(now - 60_000).toISOString() } })).status).toBe(202);
  await h.call("GET", "/metrics");
  await sweepOnce({ ...h.deps, logger: createLogger("silent"), wake: () => {} }, now + 3 * 86_400_000);
  expect((await h.call("PATCH", `/v1/webhooks/${bad.id}`, { body: { enabled: false } })).status).toBe(200);
  expect((await h.call("DELETE", `/v1/webhooks/${good.id}`)).status).toBe(204);

  const onDeliveries = [...prepared].filter((sql) => /\bdeliveries\b/.test(sql));
  expect(onDeliveries.length).toBeGreaterThan(20);
  const scans: string[] = [];
  for (const sql of onDeliveries) {
    const plan = planOf(sql);
    for (const { detail } of plan) {
      // "SCAN deliveries", or a "SEARCH" with no index to search, walks over every row.
      if (/^(SCAN|SEARCH) (deliveries|d)\b/.test(detail) && !/\bUSING\b/.test(detail)) {
        scans.push(`${detail} ← ${sql.replace(/\s+/g, " ").slice(0, 160)}`);
      }
    }
  }
  expect(scans).toEqual([]);
  // A list filtered by a rare state reads that state's index, not the webhook's whole history.
  const failedList = onDeliveries.find((sql) => sql.includes("status = 'failed'") && sql.includes("ORDER BY id DESC"));
  expect(failedList).toBeDefined();
  const plan = planOf(failedList ?? "");
  expect(plan.map((p) => p.detail).join("; ")).toContain("deliveries_failed_idx");
});

// GET /v1/stats/deliveries reads the roll-up (attempt_stats), never the attempts: each of its
// queries, and the roll-up's retention, searches one of the roll-up's indexes (the upsert's
// conflict target is its primary key).
test("the stats series reads the roll-up by an index: one webhook's, one tenant's, every tenant's", async () => {
  // The first test's EXPLAINs left the store's connection able to write (see planOf).
  const kept = await createWebhook(h, { tenant_id: "acme", url: "https://hooks.example.com/series", events: ["member.added"] });
  for (const query of [`&webhook_id=${kept.id}`, "&tenant=acme", ""]) {
    const res = await h.call("GET", `/v1/stats/deliveries?window=24h${query}`);
    expect(res.status, await res.clone().text()).toBe(200);
  }
  const onStats = [...prepared].filter((sql) => /\battempt_stats\b/.test(sql) && !/^\s*INSERT\b/.test(sql));
  const plans = onStats.map((sql) => ({
    sql: sql.replace(/\s+/g, " "),
    plan: planOf(sql)
      .map((p) => p.detail)
      .join("; "),
  }));
  const indexOf = (where: string) => plans.find((p) => p.sql.includes(where))?.plan;
  expect(indexOf("webhook_id = ?4")).toMatch(/SEARCH attempt_stats USING (PRIMARY KEY|INDEX sqlite_autoindex_attempt_stats_1) \(webhook_id=\? AND minute>\? AND minute<\?\)/);
  expect(indexOf("tenant_id = ?4")).toContain("SEARCH attempt_stats USING INDEX attempt_stats_tenant_idx (tenant_id=? AND minute>? AND minute<?)");
  expect(indexOf("WHERE minute >= ?1")).toContain("SEARCH attempt_stats USING INDEX attempt_stats_minute_idx (minute>? AND minute<?)");
  // Summed per minute in the index's order; only the buckets (at most a day's minutes per bucket) are sorted.
  for (const where of ["webhook_id = ?4", "tenant_id = ?4", "WHERE minute >= ?1"]) {
    expect(indexOf(where)).toMatch(/^CO-ROUTINE [^;]*; SEARCH attempt_stats [^;]*; SCAN \(subquery-\d+\); USE TEMP B-TREE FOR GROUP BY$/);
  }
  expect(indexOf("DELETE FROM attempt_stats")).toContain("SEARCH attempt_stats USING COVERING INDEX attempt_stats_minute_idx (minute<?)");
  expect(plans.filter((p) => /SCAN attempt_stats\b/.test(p.plan))).toEqual([]);
});
