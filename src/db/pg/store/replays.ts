// Replay jobs on PostgreSQL (API.md §14, §11). A batch is one transaction that starts by taking
// (or renewing) the job's lease in one conditional UPDATE — the row lock it takes also orders
// two replicas that ask at once: the second re-reads the row after the first commits and finds
// it leased — then reads the webhook FOR SHARE (a disable cannot slip between the plan and the
// insert, as for ingests), the tenant's events after the cursor, inserts their deliveries with
// unnest and advances the cursor. A replica killed mid-batch rolls all of it back, its last
// committed lease runs out, and another replica goes on from the cursor.
import { idBoundary, newId } from "../../../lib/ids.ts";
import { planReplayBatch, replayIdUpperMs } from "../../../domain/replay/batch.ts";
import type { ReplayBatchOptions, ReplayBatchResult, ReplayInsertResult, ReplayJobRecord } from "../../../domain/store.ts";
import { type ReplayRow, toReplay } from "../../store/replays.ts";
import { sqlState } from "../client.ts";
import type { PgContext } from "../context.ts";
import { type HotPathOptions, leaseNow, transaction } from "./hot-path.ts";

const INSERT = `INSERT INTO replay_jobs (id, webhook_id, tenant_id, since, until, event_types, status, started_at)
  VALUES ($1, $2, $3, $4, $5, $6, 'running', $7)
  ON CONFLICT (webhook_id) WHERE status = 'running' DO NOTHING RETURNING id`;

const INSERT_DELIVERIES = `INSERT INTO deliveries (id, event_id, webhook_id, tenant_id, event_type, status, next_attempt_at,
    created_at, updated_at)
  SELECT id, event_id, $3, $4, event_type, 'pending', $5::bigint, $5::bigint, $5::bigint
  FROM unnest($1::text[], $2::text[], $6::text[]) AS u(id, event_id, event_type)`;

export function pgReplayQueries(ctx: PgContext, opts: HotPathOptions = {}) {
  const clock = opts.leaseClock ?? "database";
  const runnable = `SELECT id FROM replay_jobs WHERE status = 'running'
    AND (lease_expires_at IS NULL OR lease_expires_at < ${leaseNow(clock, "$3")} OR lease_holder = $2) ORDER BY id LIMIT $1`;
  const lease = `UPDATE replay_jobs SET lease_holder = $2, lease_expires_at = ${leaseNow(clock, "$3")} + $4::bigint
    WHERE id = $1 AND status = 'running'
      AND (lease_expires_at IS NULL OR lease_expires_at < ${leaseNow(clock, "$3")} OR lease_holder = $2)
    RETURNING *`;
  return {
    async insertReplay(job: ReplayJobRecord): Promise<ReplayInsertResult> {
      const types = job.eventTypes === null ? null : JSON.stringify(job.eventTypes);
      try {
        const rows = await ctx.client.query(INSERT, [job.id, job.webhookId, job.tenantId, job.since, job.until, types, job.startedAt]);
        if (rows.length > 0) return { ok: true };
      } catch (err) {
        if (sqlState(err) !== "23505") throw err;
      }
      const [other] = await ctx.client.query<{ id: string }>(
        "SELECT id FROM replay_jobs WHERE webhook_id = $1 AND status = 'running'",
        [job.webhookId],
      );
      return { ok: false, reason: "running", runningId: other?.id ?? "" };
    },
    async getReplay(id: string): Promise<ReplayJobRecord | undefined> {
      const [row] = await ctx.client.query<ReplayRow>("SELECT * FROM replay_jobs WHERE id = $1", [id]);
      return row ? toReplay(row) : undefined;
    },
    async runnableReplays(now: number, limit: number): Promise<string[]> {
      const rows = await ctx.client.query<{ id: string }>(runnable, [limit, ctx.replicaId, now]);
      return rows.map((r) => r.id);
    },
    replayBatch(id: string, now: number, o: ReplayBatchOptions): Promise<ReplayBatchResult> {
      return transaction(ctx.client, async (tx): Promise<ReplayBatchResult> => {
        const [row] = await tx.query<ReplayRow>(lease, [id, ctx.replicaId, now, Math.max(1, Math.round(o.leaseMs))]);
        if (!row) return { kind: "gone" };
        const j = toReplay(row);
        const [w] = await tx.query<{ enabled: boolean; events: string }>(
          "SELECT enabled, events FROM webhooks WHERE id = $1 FOR SHARE",
          [j.webhookId],
        );
        if (!w?.enabled) {
          await tx.query(
            "UPDATE replay_jobs SET status = 'failed', error = $2, finished_at = $3, lease_holder = NULL, lease_expires_at = NULL WHERE id = $1",
            [id, w ? "webhook disabled" : "webhook deleted", now],
          );
          return { kind: "failed" };
        }
        const [due] = await tx.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM (SELECT 1 FROM deliveries
             WHERE webhook_id = $1 AND status = 'pending' AND next_attempt_at <= $2 LIMIT $3) d`,
          [j.webhookId, now, o.maxDue],
        );
        if ((due?.n ?? 0) >= o.maxDue) return { kind: "paced" };
        // See db/store/replays.ts: the (tenant_id, id) index in time order, created_at exact.
        const after = j.cursorId ?? idBoundary("evt", j.since).slice(0, -16);
        const read = await tx.query<{ id: string; type: string; created_at: string | number; dropped: boolean }>(
          `SELECT id, type, created_at, payload = '' AS dropped FROM events
           WHERE tenant_id = $1 AND id > $2 AND id < $3 AND created_at >= $4 AND created_at <= $5
           ORDER BY id LIMIT $6`,
          [j.tenantId, after, idBoundary("evt", replayIdUpperMs(j)), j.since, j.until, o.limit],
        );
        const plan = planReplayBatch(read, JSON.parse(w.events) as string[], j.eventTypes);
        if (plan.deliver.length > 0) {
          await tx.query(INSERT_DELIVERIES, [
            plan.deliver.map(() => newId("dlv", now)),
            plan.deliver.map((e) => e.id),
            j.webhookId,
            j.tenantId,
            now,
            plan.deliver.map((e) => e.type),
          ]);
        }
        const last = read.at(-1);
        const finished = read.length < o.limit;
        await tx.query(
          `UPDATE replay_jobs SET matched = matched + $2, created = created + $3, skipped = skipped + $4,
             cursor_created_at = coalesce($5, cursor_created_at), cursor_id = coalesce($6, cursor_id), status = $7,
             finished_at = $8, lease_holder = CASE WHEN $9 THEN NULL ELSE lease_holder END,
             lease_expires_at = CASE WHEN $9 THEN NULL ELSE lease_expires_at END
           WHERE id = $1`,
          [
            id,
            plan.matched,
            plan.deliver.length,
            plan.skipped,
            last ? Number(last.created_at) : null,
            last?.id ?? null,
            finished ? "done" : "running",
            finished ? now : null,
            finished,
          ],
        );
        return { kind: "progressed", read: read.length, matched: plan.matched, created: plan.deliver.length, skipped: plan.skipped, finished };
      });
    },
  };
}
