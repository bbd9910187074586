import type { Database } from "bun:sqlite";
import { drizzle } from "drizzle-orm/bun-sqlite";
import { createSecretBox, type SecretBox } from "../domain/secret-box.ts";
import type { Store } from "../domain/store.ts";
import * as schema from "./schema/index.ts";
import { deliveryQueries } from "./store/deliveries.ts";
import { claimQueries } from "./store/claims.ts";
import { subscriberCache } from "./store/cache.ts";
import { normalSyncWrites } from "./store/normal-sync.ts";
import { dispatchQueries } from "./store/outcomes.ts";
import { eventTypeQueries } from "./store/event-types.ts";
import { ingestPlanner, ingestQueries, ingestStatements, operationalEmitter } from "./store/ingest.ts";
import { keyQueries } from "./store/keys.ts";
import { maintenanceQueries } from "./store/maintenance.ts";
import { replayQueries } from "./store/replays.ts";
import { statsQueries } from "./store/stats.ts";
import { storageProblem } from "./store/sqlite-errors.ts";
import { translateStorageErrors } from "./storage-errors.ts";
import { webhookQueries } from "./store/webhooks.ts";
import { localWriter, type Writer } from "./writer/ops.ts";

/**
 * The SQLite implementation of the store seam. Management paths and reads run synchronous
 * calls on `sqlite` (bun:sqlite has no async API) and are async only to honour the interface;
 * the hot-path writes (ingest batches, claims, attempt outcomes) go to the writer, in
 * production a thread with its own connection (writer/thread.ts). Management paths use
 * drizzle; the hot paths use prepared statements.
 */
export interface SqliteStoreOptions {
  /**
   * Encrypts webhook secrets on every write and decrypts them on every read (plaintext rows of
   * a database not yet migrated are read as they are). Default: no key, secrets in plaintext.
   */
  secrets?: SecretBox;
  /** Where the hot-path writes run. Default: on `sqlite` itself, in this thread. */
  writer?: Writer;
}

export function createSqliteStore(sqlite: Database, opts: SqliteStoreOptions = {}): Store {
  const db = drizzle(sqlite, { schema });
  const secrets = opts.secrets ?? createSecretBox(undefined);
  const writer = opts.writer ?? localWriter(sqlite, secrets);
  // Fan-out targets per tenant; every webhook write below clears it, and the writer's.
  const subscribers = subscriberCache();
  const changed = () => {
    subscribers.clear();
    writer.webhooksChanged();
  };
  const { ingest, drainIngests } = ingestQueries(ingestPlanner(sqlite, secrets, subscribers), (plans) =>
    writer.ingest(plans),
  );
  const relaxed = normalSyncWrites(sqlite);
  const dispatch = dispatchQueries(
    sqlite,
    operationalEmitter(ingestStatements(sqlite, secrets, subscribers)),
    relaxed,
    changed,
  );
  return translateStorageErrors(
    {
      ...keyQueries(db),
      ...eventTypeQueries(db),
      ...webhookQueries(sqlite, db, secrets, changed),
      ingest,
      ...deliveryQueries(sqlite, secrets, changed),
      ...claimQueries(sqlite, secrets, relaxed, subscribers, (ids, now, leaseMs) => writer.claim(ids, now, leaseMs)),
      recoverExpiredLeases: dispatch.recoverExpiredLeases,
      nextDueAt: dispatch.nextDueAt,
      disableFailingWebhooks: dispatch.disableFailingWebhooks,
      async recordOutcomes(outcomes, now, disableAfterMs) {
        const disabled = await writer.recordOutcomes(outcomes, now, disableAfterMs);
        // The writer cleared its own cache; ingests here must stop fanning out to them too.
        if (disabled.length > 0) subscribers.clear();
        return disabled;
      },
      ...maintenanceQueries(sqlite),
      ...statsQueries(sqlite),
      ...replayQueries(sqlite),
      // Up to a batch of deliveries in one transaction: on the writer, beside ingests and outcomes.
      replayBatch: (id, now, opts) => writer.replayBatch(id, now, opts),
      // The writer takes the write lock on its own connection (same file): taking it here too
      // would block this thread behind the writer's commit on every readiness probe.
      ping: () => writer.ping(),
      async close(): Promise<void> {
        await drainIngests();
        await writer.close();
        sqlite.close();
      },
    },
    storageProblem,
  );
}
