// GET /v1/stats/deliveries on PostgreSQL reads the stats roll-up by its indexes, never by a scan
// of the table: each statement deliverySeries sends (one webhook's, one tenant's, every tenant's)
// is EXPLAINed, with its own parameters, over a roll-up of 24,000 analysed rows.
import { afterAll, beforeAll, expect } from "bun:test";
import { connectPostgres, type PgClient } from "../../src/db/pg/client.ts";
import type { PgContext } from "../../src/db/pg/context.ts";
import { applyPgMigrations } from "../../src/db/pg/migrate.ts";
import { pgStatsQueries } from "../../src/db/pg/store/stats.ts";
import { timeAfterIssuedIds, webhookRecord } from "../store-contract/records.ts";
import { describePostgres, freshDatabase, postgresTest } from "../support/postgres.ts";
import { insertWebhook } from "./pg-hot-paths-rig.ts";

const MINUTE = 60_000;
const WEBHOOKS = 100;
const TENANTS = 50;
const MINUTES = 240;

describePostgres("PostgreSQL stats series plans", () => {
  let admin: PgClient;
  const T = Math.ceil(timeAfterIssuedIds() / MINUTE) * MINUTE;
  const hooks: string[] = [];

  beforeAll(async () => {
    admin = connectPostgres(await freshDatabase(), 2);
    await applyPgMigrations(admin);
    for (let i = 0; i < WEBHOOKS; i++) {
      const w = webhookRecord({ createdAt: T, tenantId: `t${i % TENANTS}` });
      await insertWebhook(admin, w);
      hooks.push(w.id);
    }
    // Every webhook: MINUTES minutes, each with attempts in two duration bins.
    await admin.query(
      `INSERT INTO attempt_stats (webhook_id, tenant_id, minute, succeeded, retried, failed, b5, b6)
       SELECT w.id, w.tenant_id, $1::bigint + m * 60000, 3, 1, 0, 2, 2
       FROM webhooks w, generate_series(0, $2::int - 1) m`,
      [T, MINUTES],
    );
    await admin.query("ANALYZE attempt_stats");
  }, 60_000);

  afterAll(async () => {
    await admin?.close();
  });

  postgresTest("each query of the series searches its index: the webhook's primary key, the tenant's, the minute's", async () => {
    const sent: { sql: string; params: readonly unknown[] }[] = [];
    const recording = {
      query: (sql: string, params: readonly unknown[] = []) => {
        sent.push({ sql, params });
        return admin.query(sql, params);
      },
    };
    const stats = pgStatsQueries({ client: recording } as unknown as PgContext);
    // An hour out of four for one webhook or tenant (a few % of the rows either way), ten minutes
    // for every tenant: the planner's choice follows selectivity, and each has the index for it.
    const hour = { from: T + 100 * MINUTE, until: T + 160 * MINUTE, bucketMs: MINUTE };
    const range = { from: T + 100 * MINUTE, until: T + 110 * MINUTE, bucketMs: MINUTE };
    const one = await stats.deliverySeries({ ...hour, webhookId: hooks[7] as string });
    expect(one.reduce((n, c) => n + c.succeeded, 0)).toBe(60 * 3);
    expect(one.reduce((n, c) => n + (c.bins[5] ?? 0) + (c.bins[6] ?? 0), 0)).toBe(60 * 4);
    const tenant = await stats.deliverySeries({ ...hour, tenantId: "t3" });
    expect(tenant.reduce((n, c) => n + c.succeeded, 0)).toBe((WEBHOOKS / TENANTS) * 60 * 3);
    const all = await stats.deliverySeries(range);
    expect(all.reduce((n, c) => n + c.retried, 0)).toBe(WEBHOOKS * 10);
    expect(sent).toHaveLength(3);

    const plans: string[] = [];
    for (const { sql, params } of sent) {
      const rows = await admin.query<{ "QUERY PLAN": string }>(`EXPLAIN ${sql}`, params);
      plans.push(rows.map((r) => r["QUERY PLAN"]).join("\n"));
    }
    const [byWebhook, byTenant, byMinute] = plans as [string, string, string];
    expect(byWebhook).toMatch(/(Index (Only )?Scan|Bitmap Index Scan) (using|on) attempt_stats_webhook_id_minute_pk/);
    expect(byTenant).toMatch(/(Index (Only )?Scan|Bitmap Index Scan) (using|on) attempt_stats_tenant_idx/);
    expect(byMinute).toMatch(/(Index (Only )?Scan|Bitmap Index Scan) (using|on) attempt_stats_minute_idx/);
    for (const plan of plans) expect(plan).not.toContain("Seq Scan on attempt_stats");
  });
});
