// The rig of the PostgreSQL hot-path tests (pg-*.test.ts): a fresh migrated database on the
// tests' throwaway cluster, and "replicas" on it — each its own client, replica id and cache,
// with the ingest, claim and outcome modules of src/db/pg/store as createPostgresStore puts them
// together — plus the few rows the tests set up or read directly (webhooks, deliveries, tokens).
import { connectPostgres, num, type PgClient } from "../../src/db/pg/client.ts";
import { AsyncTtlCache, type PgContext } from "../../src/db/pg/context.ts";
import { applyPgMigrations } from "../../src/db/pg/migrate.ts";
import { type DeliveryRow, toDelivery, WEBHOOK_INSERT_COLUMNS, webhookValues, webhookTouched } from "../../src/db/pg/rows.ts";
import { pgClaimQueries } from "../../src/db/pg/store/claims.ts";
import type { LeaseClock } from "../../src/db/pg/store/hot-path.ts";
import { pgIngestQueries } from "../../src/db/pg/store/ingest.ts";
import { pgOutcomeQueries } from "../../src/db/pg/store/outcomes.ts";
import { createSecretBox } from "../../src/domain/secret-box.ts";
import type { DeliveryRecord, WebhookRecord } from "../../src/domain/store.ts";
import { freshDatabase } from "../support/postgres.ts";

export interface Replica {
  id: string;
  client: PgClient;
  subscribers: AsyncTtlCache<unknown>;
  ingest: ReturnType<typeof pgIngestQueries>["queries"]["ingest"];
  claims: ReturnType<typeof pgClaimQueries>;
  outcomes: ReturnType<typeof pgOutcomeQueries>;
}

export interface HotPathDatabase {
  url: string;
  /** For the test's own reads and writes. */
  admin: PgClient;
  replica(id: string, leaseClock: LeaseClock): Replica;
  close(): Promise<void>;
}

export async function hotPathDatabase(): Promise<HotPathDatabase> {
  const url = await freshDatabase();
  const admin = connectPostgres(url, 4);
  await applyPgMigrations(admin);
  const replicas: { client: PgClient; drain: () => Promise<void> }[] = [];
  return {
    url,
    admin,
    replica(id, leaseClock) {
      const client = connectPostgres(url, 4);
      const ctx: PgContext = { client, secrets: createSecretBox(undefined), replicaId: id };
      const subscribers = new AsyncTtlCache<unknown>();
      const ingest = pgIngestQueries(ctx, subscribers, { leaseClock });
      replicas.push({ client, drain: ingest.drain });
      return {
        id,
        client,
        subscribers,
        ingest: ingest.queries.ingest,
        claims: pgClaimQueries(ctx, subscribers, { leaseClock }),
        outcomes: pgOutcomeQueries(ctx, ingest.emit, subscribers),
      };
    },
    async close() {
      for (const r of replicas) {
        await r.drain();
        await r.client.close();
      }
      await admin.close();
    },
  };
}

export async function insertWebhook(db: PgClient, w: WebhookRecord): Promise<void> {
  const values = webhookValues(w, createSecretBox(undefined));
  const params = values.map((_, i) => `$${i + 1}`).join(", ");
  await db.query(`INSERT INTO webhooks (${WEBHOOK_INSERT_COLUMNS}) VALUES (${params})`, values);
}

/** A disable as updateWebhook makes it: the webhook row first (its lock orders it after an ingest), then its pending deliveries failed. */
export async function disableWebhook(db: PgClient, id: string, at: number): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query(`UPDATE webhooks SET enabled = false, disabled_reason = 'manual', ${webhookTouched("$1")} WHERE id = $2`, [at, id]);
    await tx.query(
      "UPDATE deliveries SET status = 'failed', next_attempt_at = NULL, last_error = 'webhook disabled (manual)', updated_at = $1 WHERE webhook_id = $2 AND status = 'pending'",
      [at, id],
    );
  });
}

export async function deliveryRow(db: PgClient, id: string): Promise<(DeliveryRecord & { claimToken: string | null }) | undefined> {
  const [r] = await db.query<DeliveryRow & { claim_token: string | null }>("SELECT * FROM deliveries WHERE id = $1", [id]);
  return r === undefined ? undefined : { ...toDelivery(r), claimToken: r.claim_token };
}

export async function deliveriesOfEvent(db: PgClient, eventId: string): Promise<DeliveryRecord[]> {
  return (await db.query<DeliveryRow>("SELECT * FROM deliveries WHERE event_id = $1 ORDER BY id", [eventId])).map(toDelivery);
}

export async function attemptCount(db: PgClient, deliveryId: string): Promise<number> {
  const [r] = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM attempts WHERE delivery_id = $1", [deliveryId]);
  return r?.n ?? 0;
}

export async function countEvents(db: PgClient, type: string): Promise<number> {
  const [r] = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM events WHERE type = $1", [type]);
  return r?.n ?? 0;
}

export async function databaseNow(db: PgClient): Promise<number> {
  const [r] = await db.query<{ now: unknown }>("SELECT (extract(epoch from clock_timestamp()) * 1000)::bigint AS now");
  return num(r?.now);
}

/** Waits (polling, bounded) until a session of this database waits for a row lock: the positive sign that a statement is blocked. */
export async function someoneWaitsForALock(db: PgClient, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [r] = await db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
    );
    if ((r?.n ?? 0) > 0) return;
    if (Date.now() > deadline) throw new Error("no session waited for a lock");
    await Bun.sleep(5);
  }
}
