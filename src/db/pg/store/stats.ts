// Reads for /metrics and per-webhook health on PostgreSQL; nothing here writes. The gauges have
// no databaseBytes/walBytes (optional in the port): the database's size is the server's to
// report (pg_database_size needs no Hookline), and several replicas would each report the same.
import { BIN_COLUMNS } from "../../../domain/stats/rollup.ts";
import { healthOfCells, healthRange, type SeriesCell, seriesCell } from "../../../domain/stats/series.ts";
import type { SeriesFilter, StoreGauges, WebhookStatsRecord } from "../../../domain/store.ts";
import { num, numOrNull } from "../client.ts";
import type { PgContext } from "../context.ts";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const SERIES_SUMS = ["succeeded", "retried", "failed", ...BIN_COLUMNS].map((c) => `sum(${c}) AS ${c}`).join(", ");

export function pgStatsQueries(ctx: PgContext) {
  const { client } = ctx;
  /** The roll-up summed per bucket, by the same indexes as SQLite's (db/store/stats.ts). */
  async function deliverySeries(f: SeriesFilter): Promise<SeriesCell[]> {
    const [where, args] =
      f.webhookId !== undefined
        ? ["webhook_id = $4 AND", [f.webhookId]]
        : f.tenantId !== undefined
          ? ["tenant_id = $4 AND", [f.tenantId]]
          : ["", []];
    // sum() of integers is a bigint, read as a number by seriesCell.
    const rows = await client.query<Record<string, unknown>>(
      `SELECT ((minute - $1::bigint) / $3::bigint)::int AS "index", ${SERIES_SUMS}
       FROM attempt_stats WHERE ${where} minute >= $1::bigint AND minute < $2::bigint GROUP BY 1`,
      [f.from, f.until, f.bucketMs, ...args],
    );
    return rows.map(seriesCell);
  }
  return {
    deliverySeries,
    async gauges(now: number): Promise<StoreGauges> {
      // Three independent reads, each on its own pooled connection at once.
      const [buckets, [oldest], hooks] = await Promise.all([
        client.query<{ bucket: string; n: unknown }>(
          `SELECT CASE WHEN created_at > $1::bigint THEN 'lt_1m' WHEN created_at > $2::bigint THEN '1m_10m'
                       WHEN created_at > $3::bigint THEN '10m_1h' WHEN created_at > $4::bigint THEN '1h_1d'
                       ELSE 'gt_1d' END AS bucket,
                  count(*) AS n
           FROM deliveries WHERE status = 'pending' GROUP BY bucket`,
          [now - MINUTE, now - 10 * MINUTE, now - HOUR, now - DAY],
        ),
        client.query<{ created: unknown; due: unknown }>(
          `SELECT min(created_at) AS created,
                  (SELECT min(next_attempt_at) FROM deliveries WHERE status = 'pending' AND next_attempt_at <= $1) AS due
           FROM deliveries WHERE status = 'pending'`,
          [now],
        ),
        client.query<{ enabled: boolean; n: unknown }>("SELECT enabled, count(*) AS n FROM webhooks GROUP BY enabled"),
      ]);
      const pendingByAge: Record<string, number> = {};
      for (const row of buckets) pendingByAge[row.bucket] = num(row.n);
      let enabled = 0;
      let disabled = 0;
      for (const row of hooks) {
        if (row.enabled) enabled = num(row.n);
        else disabled = num(row.n);
      }
      return {
        pendingByAge,
        oldestPendingCreatedAt: numOrNull(oldest?.created),
        oldestDueAt: numOrNull(oldest?.due),
        webhooksEnabled: enabled,
        webhooksDisabled: disabled,
      };
    },
    async webhookStats(webhookId: string, since: number): Promise<WebhookStatsRecord> {
      // From the roll-up (as SQLite's: one bucket of the series from since's minute), not by
      // scanning and sorting the window's attempts.
      const r = healthRange(since);
      const [cells, [p]] = await Promise.all([
        deliverySeries({ webhookId, from: r.from, until: r.until, bucketMs: r.bucketMs }),
        client.query<{ created: unknown; next: unknown }>(
          `SELECT min(created_at) AS created, min(next_attempt_at) AS next FROM deliveries
           WHERE webhook_id = $1 AND status = 'pending'`,
          [webhookId],
        ),
      ]);
      return { ...healthOfCells(cells), oldestPendingCreatedAt: numOrNull(p?.created), nextAttemptAt: numOrNull(p?.next) };
    },
  };
}
