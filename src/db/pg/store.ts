// The PostgreSQL implementation of the Store port (API.md §11), for several replicas on one
// database. Each file under store/ holds the statements of one area and applies the domain's
// plans (domain/delivery-rules/); claims are taken in database time under a lease with a fresh
// claim token, and outcomes are written only while that token still holds.
import { createSecretBox, type SecretBox } from "../../domain/secret-box.ts";
import type { Store } from "../../domain/store.ts";
import { translateStorageErrors } from "../storage-errors.ts";
import { type PgClient, storageTrouble } from "./client.ts";
import type { PgContext } from "./context.ts";
import type { HotPathOptions } from "./store/hot-path.ts";
import { pgClaimQueries } from "./store/claims.ts";
import { pgDeliveryQueries } from "./store/deliveries.ts";
import { pgEventTypeQueries } from "./store/event-types.ts";
import { pgIngestQueries } from "./store/ingest.ts";
import { pgKeyQueries } from "./store/keys.ts";
import { pgLeaderQueries } from "./store/leader.ts";
import { pgMaintenanceQueries } from "./store/maintenance.ts";
import { pgOutcomeQueries } from "./store/outcomes.ts";
import { pgRateLimitQueries } from "./store/rate-limits.ts";
import { pgReplayQueries } from "./store/replays.ts";
import { pgStatsQueries } from "./store/stats.ts";
import { pgWebhookQueries } from "./store/webhooks.ts";

export interface PgStoreOptions extends HotPathOptions {
  secrets?: SecretBox;
  replicaId?: string;
}

export function createPostgresStore(client: PgClient, opts: PgStoreOptions = {}): Store {
  const ctx: PgContext = {
    client,
    secrets: opts.secrets ?? createSecretBox(undefined),
    replicaId: opts.replicaId ?? `replica-${crypto.randomUUID()}`,
  };
  const webhooks = pgWebhookQueries(ctx);
  const hot: HotPathOptions = opts.leaseClock ? { leaseClock: opts.leaseClock } : {};
  const ingest = pgIngestQueries(ctx, webhooks.subscribers, hot);
  return translateStorageErrors(
    {
      ...pgKeyQueries(ctx),
      ...pgEventTypeQueries(ctx),
      ...webhooks.queries,
      ...ingest.queries,
      ...pgDeliveryQueries(ctx),
      ...pgClaimQueries(ctx, webhooks.subscribers, hot),
      ...pgOutcomeQueries(ctx, ingest.emit, webhooks.subscribers),
      ...pgMaintenanceQueries(ctx),
      ...pgStatsQueries(ctx),
      ...pgLeaderQueries(ctx),
      ...pgRateLimitQueries(ctx),
      ...pgReplayQueries(ctx, hot),
      async ping() {
        // A commit is the proof that the database takes writes (a read-only standby, a full disk
        // or a lost connection all fail it), as SQLite's probe does.
        try {
          await client.query(
            "INSERT INTO readiness_probe (id, probed_at) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET probed_at = EXCLUDED.probed_at",
            [Date.now()],
          );
          return true;
        } catch {
          return false;
        }
      },
      async close() {
        await ingest.drain();
        await client.close();
      },
    },
    storageTrouble,
  );
}
