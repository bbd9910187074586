import type { Database, SQLQueryBindings } from "bun:sqlite";
import { statSync } from "node:fs";
import { BIN_COLUMNS } from "../../domain/stats/rollup.ts";
import { healthOfCells, healthRange, type SeriesCell, seriesCell } from "../../domain/stats/series.ts";
import type { SeriesFilter, StoreGauges, WebhookStatsRecord } from "../../domain/store.ts";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** Reads for /metrics and per-webhook health; nothing here writes. */
export function statsQueries(sqlite: Database) {
  const pending = sqlite.query<{ bucket: string; n: number }, [number, number, number, number]>(
    `SELECT CASE WHEN created_at > ?1 THEN 'lt_1m' WHEN created_at > ?2 THEN '1m_10m'
                 WHEN created_at > ?3 THEN '10m_1h' WHEN created_at > ?4 THEN '1h_1d' ELSE 'gt_1d' END AS bucket,
            count(*) AS n
     FROM deliveries WHERE status = 'pending' GROUP BY bucket`,
  );
  const oldest = sqlite.query<{ created: number | null; due: number | null }, [number]>(
    `SELECT min(created_at) AS created,
            (SELECT min(next_attempt_at) FROM deliveries WHERE status = 'pending' AND next_attempt_at <= ?1) AS due
     FROM deliveries WHERE status = 'pending'`,
  );
  const hooks = sqlite.query<{ enabled: number; n: number }, []>(
    "SELECT enabled, count(*) AS n FROM webhooks GROUP BY enabled",
  );
  const pendingOf = sqlite.query<{ created: number | null; next: number | null }, [string]>(
    `SELECT min(created_at) AS created, min(next_attempt_at) AS next FROM deliveries
     WHERE webhook_id = ? AND status = 'pending'`,
  );
  // The roll-up summed per bucket: one webhook's rows (its primary key), one tenant's
  // (attempt_stats_tenant_idx) or every tenant's (attempt_stats_minute_idx), by a minute range.
  // Summed per minute first, in the index's order (no sorter holding every row), then per bucket.
  const counters = ["succeeded", "retried", "failed", ...BIN_COLUMNS];
  const series = <P extends SQLQueryBindings[]>(where: string) =>
    sqlite.query<Record<string, number>, P>(
      `SELECT (minute - ?1) / ?3 AS "index", ${counters.map((c) => `sum(${c}) AS ${c}`).join(", ")}
       FROM (SELECT minute, ${counters.map((c) => `sum(${c}) AS ${c}`).join(", ")}
             FROM attempt_stats WHERE ${where} minute >= ?1 AND minute < ?2 GROUP BY minute)
       GROUP BY 1`,
    );
  const seriesOfWebhook = series<[number, number, number, string]>("webhook_id = ?4 AND");
  const seriesOfTenant = series<[number, number, number, string]>("tenant_id = ?4 AND");
  const seriesOfAll = series<[number, number, number]>("");

  return {
    async deliverySeries(f: SeriesFilter): Promise<SeriesCell[]> {
      const rows =
        f.webhookId !== undefined
          ? seriesOfWebhook.all(f.from, f.until, f.bucketMs, f.webhookId)
          : f.tenantId !== undefined
            ? seriesOfTenant.all(f.from, f.until, f.bucketMs, f.tenantId)
            : seriesOfAll.all(f.from, f.until, f.bucketMs);
      return rows.map(seriesCell);
    },
    async gauges(now: number): Promise<StoreGauges> {
      const pendingByAge: Record<string, number> = {};
      for (const row of pending.all(now - MINUTE, now - 10 * MINUTE, now - HOUR, now - DAY)) {
        pendingByAge[row.bucket] = row.n;
      }
      const o = oldest.get(now);
      let enabled = 0;
      let disabled = 0;
      for (const row of hooks.all()) {
        if (row.enabled) enabled = row.n;
        else disabled = row.n;
      }
      return {
        pendingByAge,
        oldestPendingCreatedAt: o?.created ?? null,
        oldestDueAt: o?.due ?? null,
        webhooksEnabled: enabled,
        webhooksDisabled: disabled,
        databaseBytes: sizeOf(sqlite.filename),
        walBytes: sizeOf(`${sqlite.filename}-wal`),
      };
    },
    async webhookStats(webhookId: string, since: number): Promise<WebhookStatsRecord> {
      // From the roll-up, by the series' query (per minute: its primary key), not by scanning the
      // window's attempts: at 50,000 attempts a webhook that took ~200 ms, and a page of 20 rows
      // asks for 20 webhooks at once.
      const r = healthRange(since);
      const health = healthOfCells(seriesOfWebhook.all(r.from, r.until, r.bucketMs, webhookId).map(seriesCell));
      const p = pendingOf.get(webhookId);
      return { ...health, oldestPendingCreatedAt: p?.created ?? null, nextAttemptAt: p?.next ?? null };
    },
  };
}
