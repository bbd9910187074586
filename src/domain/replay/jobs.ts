// POST /v1/webhooks/{id}/replay and GET /v1/webhooks/{id}/replays/{replay_id} (API.md §14). The
// job is only written here; the replay runner (delivery/replay-runner.ts) does its batches.
import { toIso } from "../clock.ts";
import type { DomainDeps } from "../deps.ts";
import { ConflictError, NotFoundError, ValidationError } from "../errors.ts";
import { isId, newId } from "../../lib/ids.ts";
import type { Principal } from "../principal.ts";
import type { ReplayJobRecord } from "../store.ts";
import { loadWebhook } from "../webhooks/read.ts";
import { checkReplayWindow } from "./window.ts";

export interface ReplayView {
  id: string;
  status: ReplayJobRecord["status"];
  matched: number;
  created: number;
  skipped: number;
  started_at: string;
  finished_at: string | null;
}

export function renderReplay(j: ReplayJobRecord): ReplayView {
  return {
    id: j.id,
    status: j.status,
    matched: j.matched,
    created: j.created,
    skipped: j.skipped,
    started_at: toIso(j.startedAt),
    finished_at: j.finishedAt === null ? null : toIso(j.finishedAt),
  };
}

export async function startReplay(
  deps: Pick<DomainDeps, "store" | "clock" | "config">,
  principal: Principal,
  webhookId: string,
  input: { since?: unknown; until?: unknown; event_types?: unknown },
): Promise<{ id: string; status: "running" }> {
  const w = await loadWebhook(deps, principal, webhookId);
  const now = deps.clock.now();
  const check = checkReplayWindow(input, now, deps.config.retention.days);
  if (!check.ok) throw new ValidationError(check.errors);
  // A disabled webhook gets no deliveries (they would fail at once): enable it first, as recover asks.
  if (!w.enabled) throw new ConflictError("The webhook is disabled; enable it before replaying events to it.");
  const job: ReplayJobRecord = {
    id: newId("rpl", now),
    webhookId: w.id,
    tenantId: w.tenantId,
    ...check.window,
    status: "running",
    matched: 0,
    created: 0,
    skipped: 0,
    cursorCreatedAt: null,
    cursorId: null,
    error: null,
    startedAt: now,
    finishedAt: null,
  };
  const res = await deps.store.insertReplay(job);
  if (!res.ok) throw new ConflictError(`The webhook already has a running replay (${res.runningId}); wait for it to finish.`);
  return { id: job.id, status: "running" };
}

export async function getReplay(
  deps: Pick<DomainDeps, "store">,
  principal: Principal,
  webhookId: string,
  replayId: string,
): Promise<ReplayView> {
  const w = await loadWebhook(deps, principal, webhookId);
  const job = isId(replayId, "rpl") ? await deps.store.getReplay(replayId) : undefined;
  if (!job || job.webhookId !== w.id) throw new NotFoundError("Replay");
  return renderReplay(job);
}
