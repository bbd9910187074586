// Replay jobs on SQLite (API.md §14). The job rows are management writes on the main connection;
// a batch is a hot write (up to `limit` deliveries), so it runs where ingests and outcomes do —
// on the writer (replayBatchWriter below, called from writer/ops.ts) — one immediate transaction:
// the job, the webhook as it is now, the events after the cursor, their deliveries, the cursor.
// One process per SQLite file (the instance lock), so no lease: a running job is this process's.
import type { Database } from "bun:sqlite";
import { newId, idBoundary } from "../../lib/ids.ts";
import { planReplayBatch, replayIdUpperMs } from "../../domain/replay/batch.ts";
import type { ReplayBatchOptions, ReplayBatchResult, ReplayInsertResult, ReplayJobRecord } from "../../domain/store.ts";
import { isUniqueViolation } from "./sqlite-errors.ts";


export type ReplayRow = {
  id: string;
  webhook_id: string;
  tenant_id: string;
  since: number;
  until: number;
  event_types: string | null;
  status: ReplayJobRecord["status"];
  matched: number;
  created: number;
  skipped: number;
  cursor_created_at: number | null;
  cursor_id: string | null;
  error: string | null;
  started_at: number;
  finished_at: number | null;
};

export function toReplay(r: ReplayRow): ReplayJobRecord {
  return {
    id: r.id,
    webhookId: r.webhook_id,
    tenantId: r.tenant_id,
    since: Number(r.since),
    until: Number(r.until),
    eventTypes: r.event_types === null ? null : (JSON.parse(r.event_types) as string[]),
    status: r.status,
    matched: Number(r.matched),
    created: Number(r.created),
    skipped: Number(r.skipped),
    cursorCreatedAt: r.cursor_created_at === null ? null : Number(r.cursor_created_at),
    cursorId: r.cursor_id,
    error: r.error,
    startedAt: Number(r.started_at),
    finishedAt: r.finished_at === null ? null : Number(r.finished_at),
  };
}

export function replayQueries(sqlite: Database) {
  const running = sqlite.query<{ id: string }, [string]>("SELECT id FROM replay_jobs WHERE webhook_id = ? AND status = 'running'");
  const insert = sqlite.query<unknown, [string, string, string, number, number, string | null, number]>(
    `INSERT INTO replay_jobs (id, webhook_id, tenant_id, since, until, event_types, status, started_at)
     VALUES (?, ?, ?, ?, ?, ?, 'running', ?)`,
  );
  const byId = sqlite.query<ReplayRow, [string]>("SELECT * FROM replay_jobs WHERE id = ?");
  const runnable = sqlite.query<{ id: string }, [number]>("SELECT id FROM replay_jobs WHERE status = 'running' ORDER BY id LIMIT ?");
  return {
    async insertReplay(job: ReplayJobRecord): Promise<ReplayInsertResult> {
      return sqlite
        .transaction((): ReplayInsertResult => {
          const other = running.get(job.webhookId);
          if (other) return { ok: false, reason: "running", runningId: other.id };
          try {
            const types = job.eventTypes === null ? null : JSON.stringify(job.eventTypes);
            insert.run(job.id, job.webhookId, job.tenantId, job.since, job.until, types, job.startedAt);
          } catch (err) {
            // The partial unique index: another connection inserted one meanwhile.
            if (isUniqueViolation(err)) return { ok: false, reason: "running", runningId: running.get(job.webhookId)?.id ?? "" };
            throw err;
          }
          return { ok: true };
        })
        .immediate();
    },
    async getReplay(id: string): Promise<ReplayJobRecord | undefined> {
      const row = byId.get(id);
      return row ? toReplay(row) : undefined;
    },
    async runnableReplays(_now: number, limit: number): Promise<string[]> {
      return runnable.all(limit).map((r) => r.id);
    },
  };
}

/** The batch, synchronous, on the connection that owns the hot-path writes (writer/ops.ts). */
export function replayBatchWriter(sqlite: Database) {
  const job = sqlite.query<ReplayRow, [string]>("SELECT * FROM replay_jobs WHERE id = ? AND status = 'running'");
  const webhook = sqlite.query<{ enabled: number; events: string }, [string]>("SELECT enabled, events FROM webhooks WHERE id = ?");
  // The webhook's due backlog, counted on its due index up to the bound only.
  const due = sqlite.query<{ n: number }, [string, number, number]>(
    `SELECT count(*) AS n FROM (SELECT 1 FROM deliveries
       WHERE webhook_id = ?1 AND status = 'pending' AND next_attempt_at <= ?2 LIMIT ?3)`,
  );
  // The tenant's events on its (tenant_id, id) index: ids are ULIDs of created_at (lib/ids.ts),
  // so id order is time order and the window's ends are id bounds; created_at keeps it exact.
  const events = sqlite.query<
    { id: string; type: string; created_at: number; dropped: number },
    [string, string, string, number, number, number]
  >(
    `SELECT id, type, created_at, payload = '' AS dropped FROM events
     WHERE tenant_id = ?1 AND id > ?2 AND id < ?3 AND created_at >= ?4 AND created_at <= ?5
     ORDER BY id LIMIT ?6`,
  );
  const insertDelivery = sqlite.query<unknown, [string, string, string, string, string, number]>(
    `INSERT INTO deliveries (id, event_id, webhook_id, tenant_id, event_type, status, attempts_count, next_attempt_at,
       created_at, updated_at)
     VALUES (?1, ?2, ?3, ?4, ?5, 'pending', 0, ?6, ?6, ?6)`,
  );
  const advance = sqlite.query<unknown, [string, number, number, number, number | null, string | null, string, number | null]>(
    `UPDATE replay_jobs SET matched = matched + ?2, created = created + ?3, skipped = skipped + ?4,
       cursor_created_at = coalesce(?5, cursor_created_at), cursor_id = coalesce(?6, cursor_id), status = ?7, finished_at = ?8
     WHERE id = ?1`,
  );
  const fail = sqlite.query<unknown, [string, string, number]>(
    "UPDATE replay_jobs SET status = 'failed', error = ?2, finished_at = ?3 WHERE id = ?1",
  );

  return function replayBatch(id: string, now: number, opts: ReplayBatchOptions): ReplayBatchResult {
    return sqlite
      .transaction((): ReplayBatchResult => {
        const row = job.get(id);
        if (!row) return { kind: "gone" };
        const j = toReplay(row);
        const w = webhook.get(j.webhookId);
        if (w?.enabled !== 1) {
          fail.run(id, w ? "webhook disabled" : "webhook deleted", now);
          return { kind: "failed" };
        }
        if ((due.get(j.webhookId, now, opts.maxDue)?.n ?? 0) >= opts.maxDue) return { kind: "paced" };
        // Without a cursor, from just below the first id of `since`: the time part alone sorts first.
        const after = j.cursorId ?? idBoundary("evt", j.since).slice(0, -16);
        const read = events.all(j.tenantId, after, idBoundary("evt", replayIdUpperMs(j)), j.since, j.until, opts.limit);
        const candidates = read.map((e) => ({ id: e.id, type: e.type, dropped: e.dropped === 1 }));
        const plan = planReplayBatch(candidates, JSON.parse(w.events) as string[], j.eventTypes);
        for (const e of plan.deliver) insertDelivery.run(newId("dlv", now), e.id, j.webhookId, j.tenantId, e.type, now);
        const last = read.at(-1);
        const finished = read.length < opts.limit;
        advance.run(
          id,
          plan.matched,
          plan.deliver.length,
          plan.skipped,
          last?.created_at ?? null,
          last?.id ?? null,
          finished ? "done" : "running",
          finished ? now : null,
        );
        return { kind: "progressed", read: read.length, matched: plan.matched, created: plan.deliver.length, skipped: plan.skipped, finished };
      })
      .immediate();
  };
}
