// The PostgreSQL store's management half under several replicas: what the store contract suite
// (one store, one process) cannot show. Two replicas are two PgContexts, each with its own pool.
// Races are forced, not hoped for: a test holds a lock in a transaction of its own, waits until
// the store's call is seen waiting on it (pg_stat_activity), and only then lets go.
import { afterEach, beforeEach, expect } from "bun:test";
import { connectPostgres, type PgClient, type PgQueryable } from "../../src/db/pg/client.ts";
import { CACHE_MS, type PgContext } from "../../src/db/pg/context.ts";
import { applyPgMigrations } from "../../src/db/pg/migrate.ts";
import { pgDeliveryQueries } from "../../src/db/pg/store/deliveries.ts";
import { pgEventTypeQueries } from "../../src/db/pg/store/event-types.ts";
import { pgKeyQueries } from "../../src/db/pg/store/keys.ts";
import { pgMaintenanceQueries } from "../../src/db/pg/store/maintenance.ts";
import { pgWebhookQueries } from "../../src/db/pg/store/webhooks.ts";
import { createSecretBox } from "../../src/domain/secret-box.ts";
import { newId } from "../../src/lib/ids.ts";
import { eventTypeRecord, keyRecord, timeAfterIssuedIds, webhookRecord } from "../store-contract/records.ts";
import { describePostgres, freshDatabase, postgresTest } from "../support/postgres.ts";

const secrets = createSecretBox(Buffer.alloc(32, 9).toString("base64"));

function replica(client: PgClient, name: string) {
  const ctx: PgContext = { client, secrets, replicaId: name };
  return {
    keys: pgKeyQueries(ctx),
    types: pgEventTypeQueries(ctx),
    webhooks: pgWebhookQueries(ctx).queries,
    deliveries: pgDeliveryQueries(ctx),
    maintenance: pgMaintenanceQueries(ctx),
  };
}

/** Resolves once `n` sessions of this database wait on a lock: the calls under test are blocked. */
async function waitersOnLocks(db: PgQueryable, n: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const [row] = await db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
    );
    if ((row?.n ?? 0) >= n) return;
    if (Date.now() > deadline) throw new Error(`expected ${n} sessions waiting on a lock`);
    await Bun.sleep(5);
  }
}

/** A transaction held open by the test until `release()`: what another replica is in the middle of. */
function holdTransaction(client: PgClient, body: (tx: PgQueryable) => Promise<void>) {
  let release!: () => void;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let ready!: () => void;
  const started = new Promise<void>((resolve) => {
    ready = resolve;
  });
  const done = client.transaction(async (tx) => {
    await body(tx);
    ready();
    await released;
  });
  return { started, release, done };
}

describePostgres("postgres store, management under several replicas", () => {
  let a: PgClient;
  let b: PgClient;
  let t: number;

  beforeEach(async () => {
    const url = await freshDatabase();
    a = connectPostgres(url, 6);
    b = connectPostgres(url, 6);
    await applyPgMigrations(a);
    t = timeAfterIssuedIds();
  });
  afterEach(async () => {
    await Promise.all([a.close(), b.close()]);
  });

  /** A failed delivery of a new event to a new webhook, with its payload, as rows. */
  async function failedDelivery() {
    const w = webhookRecord({ createdAt: t });
    expect(await replica(a, "a").webhooks.insertWebhook(w)).toEqual({ ok: true });
    const eventId = newId("evt", t);
    const deliveryId = newId("dlv", t);
    await a.query(
      "INSERT INTO events (id, tenant_id, type, payload, created_at) VALUES ($1, 'acme', 'member.added', '{}', $2)",
      [eventId, t],
    );
    await a.query(
      `INSERT INTO deliveries (id, event_id, webhook_id, tenant_id, event_type, status, attempts_count, created_at, updated_at)
       VALUES ($1, $2, $3, 'acme', 'member.added', 'failed', 1, $4, $4)`,
      [deliveryId, eventId, w.id, t],
    );
    return { webhookId: w.id, eventId, deliveryId };
  }

  const payloadOf = async (eventId: string) =>
    (await a.query<{ payload: string }>("SELECT payload FROM events WHERE id = $1", [eventId]))[0]?.payload;
  const statusOf = async (deliveryId: string) =>
    (await a.query<{ status: string }>("SELECT status FROM deliveries WHERE id = $1", [deliveryId]))[0]?.status;

  postgresTest("the quota holds for creates raced on two replicas, in one tenant and beside others", async () => {
    const [ra, rb] = [replica(a, "a"), replica(b, "b")];
    for (let round = 0; round < 5; round++) {
      const tenantId = `tenant${round}`;
      const records = Array.from({ length: 12 }, (_, i) =>
        webhookRecord({ createdAt: t + i, tenantId: i % 4 === 3 ? `other${round}x${i}` : tenantId }),
      );
      const results = await Promise.all(
        records.map((r, i) => (i % 2 === 0 ? ra : rb).webhooks.insertWebhook(r, { maxPerTenant: 5 })),
      );
      expect(results.filter((r) => !r.ok).every((r) => !r.ok && r.reason === "quota")).toBe(true);
      expect(await ra.webhooks.countWebhooks(tenantId)).toBe(5);
      // The other tenants' creates were not refused for this tenant's quota.
      expect(results.filter((_, i) => i % 4 === 3).every((r) => r.ok)).toBe(true);
    }
  });

  postgresTest("a steady burst of creates in one tenant (8 at a time, 240 in all, two replicas) is never refused for a serialization race", async () => {
    const [ra, rb] = [replica(a, "a"), replica(b, "b")];
    let next = 0;
    const failures: unknown[] = [];
    await Promise.all(
      Array.from({ length: 8 }, async (_, w) => {
        while (next < 240) {
          const i = next++;
          try {
            const r = await (w % 2 === 0 ? ra : rb).webhooks.insertWebhook(webhookRecord({ createdAt: t + i, tenantId: "burst" }), { maxPerTenant: 1000 });
            if (!r.ok) failures.push(r);
          } catch (err) {
            failures.push(err);
          }
        }
      }),
    );
    expect(failures).toEqual([]);
    expect(await ra.webhooks.countWebhooks("burst")).toBe(240);
  });

  postgresTest("one URL raced on two replicas makes one webhook; the others are duplicates", async () => {
    const [ra, rb] = [replica(a, "a"), replica(b, "b")];
    const url = "https://receiver.example/raced";
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        (i % 2 === 0 ? ra : rb).webhooks.insertWebhook(
          webhookRecord({ createdAt: t + i, url }),
          i < 4 ? { maxPerTenant: 10 } : undefined,
        ),
      ),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(results.filter((r) => !r.ok && r.reason === "duplicate")).toHaveLength(7);
    expect(await ra.webhooks.countWebhooks("acme")).toBe(1);
  });

  postgresTest("a key revoked and a type changed through one replica apply on the other within CACHE_MS", async () => {
    const [ra, rb] = [replica(a, "a"), replica(b, "b")];
    const key = keyRecord({ createdAt: t });
    await ra.keys.insertKey(key);
    await ra.types.insertEventType(eventTypeRecord({ name: "order.paid", createdAt: t }));
    expect((await rb.keys.findKeyByHash(key.hash))?.revokedAt).toBeNull();
    expect((await rb.types.getEventType("order.paid"))?.archived).toBe(false);
    const changedAt = performance.now();
    await ra.keys.revokeKey(key.id, t + 1);
    await ra.types.updateEventType("order.paid", { archived: true }, t + 1);
    // This replica sees its own changes at once.
    expect((await ra.keys.findKeyByHash(key.hash))?.revokedAt).toBe(t + 1);
    for (;;) {
      const seen =
        (await rb.keys.findKeyByHash(key.hash))?.revokedAt === t + 1 &&
        (await rb.types.getEventType("order.paid"))?.archived;
      if (seen) break;
      expect(performance.now() - changedAt).toBeLessThan(CACHE_MS + 250);
      await Bun.sleep(20);
    }
  });

  postgresTest("a payload pruned while a recover waits: the recover sees it and schedules nothing", async () => {
    const rows = await failedDelivery();
    const [ra, rb] = [replica(a, "a"), replica(b, "b")];
    // Another session reading the event FOR SHARE stops the prune at its payload update, after it
    // has locked the event's deliveries; the recover then waits on those.
    const reader = holdTransaction(b, async (tx) => {
      await tx.query("SELECT id FROM events WHERE id = $1 FOR SHARE", [rows.eventId]);
    });
    await reader.started;
    const prune = ra.maintenance.prunePayloads(t + 10, 100);
    await waitersOnLocks(a, 1);
    const recover = rb.deliveries.requeueFailed(rows.webhookId, t, t + 20);
    await waitersOnLocks(a, 2);
    reader.release();
    await reader.done;
    expect(await prune).toBe(1);
    expect(await recover).toBe(0);
    expect(await payloadOf(rows.eventId)).toBe("");
    expect(await statusOf(rows.deliveryId)).toBe("failed");
  });

  postgresTest(
    "a recover not yet committed when the prune and the purge read: both see it and leave the event",
    async () => {
      const rows = await failedDelivery();
      const ra = replica(a, "a");
      // A recover in the middle of its transaction: the delivery is pending, not yet committed.
      const recover = holdTransaction(b, async (tx) => {
        await tx.query("UPDATE deliveries SET status = 'pending', next_attempt_at = $2 WHERE id = $1", [
          rows.deliveryId,
          t + 20,
        ]);
      });
      await recover.started;
      const prune = ra.maintenance.prunePayloads(t + 10, 100);
      const purge = ra.maintenance.purgeFinished(t + 10, 100);
      await waitersOnLocks(a, 2);
      recover.release();
      await recover.done;
      expect(await prune).toBe(0);
      expect(await purge).toEqual({ events: 0, deliveries: 0, attempts: 0 });
      expect(await payloadOf(rows.eventId)).toBe("{}");
      expect(await statusOf(rows.deliveryId)).toBe("pending");
    },
  );

  postgresTest("secrets and secret header values are ciphertext in the database, plaintext to callers", async () => {
    const r = replica(a, "a");
    const w = webhookRecord({ createdAt: t, headers: { authorization: "Bearer abc123", "x-team": "crm" } });
    await r.webhooks.insertWebhook(w);
    await r.webhooks.updateWebhook(w.id, { headers: { "x-api-key": "k-123" } }, t + 1);
    await r.webhooks.rotateSecret(w.id, "whsec_next", t + 3_600_000, t + 2);
    const [row] = await a.query<{ secret: string; previous_secret: string; headers: string }>(
      "SELECT secret, previous_secret, headers FROM webhooks WHERE id = $1",
      [w.id],
    );
    expect([row?.secret, row?.previous_secret].every((v) => v?.startsWith("enc:"))).toBe(true);
    expect(JSON.parse(row?.headers ?? "{}")["x-api-key"]).toStartWith("enc:");
    expect(await replica(b, "b").webhooks.getWebhook(w.id)).toMatchObject({
      secret: "whsec_next",
      previousSecret: w.secret,
      headers: { "x-api-key": "k-123" },
    });
  });

  postgresTest("a purge counts what it deletes: attempts, deliveries, events", async () => {
    const rows = await failedDelivery();
    await a.query(
      "INSERT INTO attempts (delivery_id, n, started_at, duration_ms, status_code) VALUES ($1, 1, $2, 5, 500), ($1, 2, $2, 5, 500)",
      [rows.deliveryId, t],
    );
    expect(await replica(b, "b").maintenance.purgeFinished(t + 10, 100)).toEqual({
      events: 1,
      deliveries: 1,
      attempts: 2,
    });
    expect(await statusOf(rows.deliveryId)).toBeUndefined();
  });
});
