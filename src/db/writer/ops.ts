import type { Database } from "bun:sqlite";
import type { SecretBox } from "../../domain/secret-box.ts";
import type { AttemptOutcome, ClaimedDelivery, ReplayBatchOptions, ReplayBatchResult } from "../../domain/store.ts";
import { subscriberCache } from "../store/cache.ts";
import { claimWriter } from "../store/claims.ts";
import { dispatchQueries } from "../store/outcomes.ts";
import {
  type IngestPlan,
  type IngestWritten,
  ingestStatements,
  ingestWriter,
  operationalEmitter,
  writeIngestBatch,
} from "../store/ingest.ts";
import { normalSyncWrites } from "../store/normal-sync.ts";
import { replayBatchWriter } from "../store/replays.ts";

/**
 * The hot-path writes (ingest batches, claims, attempt outcomes), synchronous, on the
 * connection that owns them. They run on the writer thread in production (writer/thread.ts),
 * or on the caller's own connection (localWriter below) for an in-memory database and the CLI.
 * Everything goes in and out as plain data, so either place gives the same answers.
 */
export function writeOps(sqlite: Database, secrets: SecretBox) {
  // For the operational events these writes emit (a webhook disabled, a delivery exhausted):
  // the writer fans them out with its own cache, cleared whenever a webhook changes.
  const subscribers = subscriberCache();
  const changed = () => subscribers.clear();
  const relaxed = normalSyncWrites(sqlite);
  const write = ingestWriter(sqlite);
  const dispatch = dispatchQueries(sqlite, operationalEmitter(ingestStatements(sqlite, secrets, subscribers)), relaxed, changed);
  const claim = claimWriter(sqlite, secrets, relaxed);
  const replayBatch = replayBatchWriter(sqlite);
  const probe = sqlite.query<unknown, [number]>(
    "INSERT INTO readiness_probe (id, probed_at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET probed_at = excluded.probed_at",
  );
  return {
    ingest: (plans: IngestPlan[]): (IngestWritten | { error: unknown })[] => writeIngestBatch(sqlite, write, plans),
    claim: (ids: string[], now: number, leaseMs: number): ClaimedDelivery[] => claim(ids, now, leaseMs),
    recordOutcomes: (outcomes: AttemptOutcome[], now: number, disableAfterMs: number): string[] =>
      dispatch.recordOutcomesNow(outcomes, now, disableAfterMs),
    replayBatch: (id: string, now: number, opts: ReplayBatchOptions): ReplayBatchResult => replayBatch(id, now, opts),
    webhooksChanged: changed,
    setQueryOnly(on: boolean): void {
      sqlite.run(`PRAGMA query_only = ${on ? "ON" : "OFF"}`);
    },
    /**
     * The readiness probe (/readyz): commits a real write, one row rewritten. Taking the write
     * lock alone (BEGIN IMMEDIATE + ROLLBACK) writes nothing, so it said "writable" on a full
     * disk or an immutable file; only a commit reaches the file system. Reporting the store
     * down after a failed hot-path write instead would stay "ready" on an idle server, and once
     * down would need traffic to come back, which a load balancer stops sending. The write is
     * one WAL frame in its own transaction on this (the writer's) connection, with synchronous
     * = NORMAL: in WAL mode that commit is not synced, so a probe adds no fsync beside the
     * ingests it queues among, and the next FULL commit syncs its frame along with its own.
     */
    ping(): boolean {
      try {
        relaxed(() => probe.run(Date.now()));
        return true;
      } catch {
        return false;
      }
    },
  };
}

export type WriteOps = ReturnType<typeof writeOps>;

/** The store's view of the writer: the same operations, asynchronous (another thread may run them). */
export interface Writer {
  ingest(plans: IngestPlan[]): Promise<(IngestWritten | { error: unknown })[]>;
  claim(ids: string[], now: number, leaseMs: number): Promise<ClaimedDelivery[]>;
  /** Returns the webhooks it disabled. */
  recordOutcomes(outcomes: AttemptOutcome[], now: number, disableAfterMs: number): Promise<string[]>;
  /** One batch of a replay job (Store.replayBatch). */
  replayBatch(id: string, now: number, opts: ReplayBatchOptions): Promise<ReplayBatchResult>;
  /** A webhook changed in this process: the writer's subscriber cache forgets what it held. */
  webhooksChanged(): void;
  /** Refuses (or accepts again) every write on the writer's connection, as a full disk would. */
  setQueryOnly(on: boolean): Promise<void>;
  /** True when the writer answers and a write on its connection commits (a one-row probe). */
  ping(): Promise<boolean>;
  /** After everything asked before it; the writer's connection is closed. */
  close(): Promise<void>;
}

/** The writes on the caller's own connection (in-memory databases, the CLI). */
export function localWriter(sqlite: Database, secrets: SecretBox): Writer {
  const ops = writeOps(sqlite, secrets);
  return {
    ingest: async (plans) => ops.ingest(plans),
    claim: async (ids, now, leaseMs) => ops.claim(ids, now, leaseMs),
    recordOutcomes: async (outcomes, now, disableAfterMs) => ops.recordOutcomes(outcomes, now, disableAfterMs),
    replayBatch: async (id, now, opts) => ops.replayBatch(id, now, opts),
    webhooksChanged: ops.webhooksChanged,
    setQueryOnly: async (on) => ops.setQueryOnly(on),
    ping: async () => ops.ping(),
    close: async () => {},
  };
}
