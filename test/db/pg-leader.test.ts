// API.md §11: the sweep's housekeeping runs on one replica at a time — a lease row, taken and
// compared in the database's time. Two replicas (two connections, two names) on one database.
// Time passing is the database's own: a lease "runs out" here by moving its expiry into the
// database's past, never by sleeping, and no replica clock is read by the statement at all.
import { afterEach, expect } from "bun:test";
import { connectPostgres, DB_NOW_MS, num, type PgClient } from "../../src/db/pg/client.ts";
import { applyPgMigrations } from "../../src/db/pg/migrate.ts";
import { pgLeaderQueries } from "../../src/db/pg/store/leader.ts";
import { createPostgresStore } from "../../src/db/pg/store.ts";
import { HOUSEKEEPING_LEASE, type SweepReport, sweepOnce } from "../../src/delivery/sweep.ts";
import { systemClock } from "../../src/domain/clock.ts";
import { createSecretBox } from "../../src/domain/secret-box.ts";
import type { Store } from "../../src/domain/store.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { testConfig } from "../support/harness.ts";
import { describePostgres, freshDatabase, postgresTest } from "../support/postgres.ts";

const clients: PgClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
});

async function replicas(...names: string[]) {
  const url = await freshDatabase();
  const admin = connectPostgres(url, 1);
  clients.push(admin);
  await applyPgMigrations(admin);
  const leaders = names.map((replicaId) => {
    const client = connectPostgres(url, 2);
    clients.push(client);
    return pgLeaderQueries({ client, secrets: createSecretBox(undefined), replicaId });
  });
  /** The lease's expiry, minus the database's now: how long it has left in database time. */
  const left = async (name: string) => {
    const [row] = await admin.query(`SELECT expires_at - ${DB_NOW_MS} AS left, holder FROM leader WHERE name = $1`, [name]);
    return { left: num(row?.left), holder: row?.holder };
  };
  /** Database time passing for the lease: its expiry moved `ms` into the past. */
  const age = (name: string, ms: number) => admin.query("UPDATE leader SET expires_at = expires_at - $2 WHERE name = $1", [name, ms]);
  return { leaders, left, age };
}

describePostgres("the housekeeping lease (PostgreSQL)", () => {
  postgresTest("one replica holds it; the other takes it only once it ran out in database time", async () => {
    const { leaders, left, age } = await replicas("replica-a", "replica-b");
    const [a, b] = leaders as [ReturnType<typeof pgLeaderQueries>, ReturnType<typeof pgLeaderQueries>];
    expect(await a.holdLease("housekeeping", 30_000)).toBe(true);
    expect(await b.holdLease("housekeeping", 30_000)).toBe(false);
    const held = await left("housekeeping");
    expect(held.holder).toBe("replica-a");
    expect(held.left).toBeGreaterThan(25_000);
    expect(held.left).toBeLessThanOrEqual(30_000);

    // The holder renews it (from now, in database time); the other still cannot have it.
    await age("housekeeping", 20_000);
    expect(await a.holdLease("housekeeping", 30_000)).toBe(true);
    expect((await left("housekeeping")).left).toBeGreaterThan(25_000);
    expect(await b.holdLease("housekeeping", 30_000)).toBe(false);

    // Not yet run out (a second left: still held), then run out: now the other takes it, and the
    // first one no longer holds it.
    await age("housekeeping", (await left("housekeeping")).left - 1_000);
    expect(await b.holdLease("housekeeping", 30_000)).toBe(false);
    await age("housekeeping", 1_001);
    expect(await b.holdLease("housekeeping", 30_000)).toBe(true);
    expect((await left("housekeeping")).holder).toBe("replica-b");
    expect(await a.holdLease("housekeeping", 30_000)).toBe(false);
  });

  postgresTest("leases of different names are independent", async () => {
    const { leaders } = await replicas("replica-a", "replica-b");
    const [a, b] = leaders as [ReturnType<typeof pgLeaderQueries>, ReturnType<typeof pgLeaderQueries>];
    expect(await a.holdLease("housekeeping", 30_000)).toBe(true);
    expect(await b.holdLease("something-else", 30_000)).toBe(true);
    expect(await a.holdLease("something-else", 30_000)).toBe(false);
  });

  postgresTest("replicas asking at the same instant: exactly one holds it", async () => {
    const names = Array.from({ length: 8 }, (_, i) => `replica-${i}`);
    const { leaders, left } = await replicas(...names);
    for (let round = 0; round < 5; round++) {
      const name = `race-${round}`;
      const answers = await Promise.all(leaders.map((l) => l.holdLease(name, 30_000)));
      expect(answers.filter(Boolean)).toHaveLength(1);
      expect((await left(name)).holder).toBe(names[answers.indexOf(true)]);
    }
  });
});

describePostgres("the sweep on two replicas (PostgreSQL)", () => {
  postgresTest("one replica housekeeps, the other only recovers leases and wakes; the other takes over once the lease ran out", async () => {
    const url = await freshDatabase();
    const admin = connectPostgres(url, 1);
    clients.push(admin);
    await applyPgMigrations(admin);
    const stores: Store[] = [];
    const replica = (replicaId: string) => {
      const client = connectPostgres(url, 2);
      const ctx = { client, secrets: createSecretBox(undefined), replicaId };
      // The store as src/db/pg/store.ts assembles it, with the lease queries spread in (a no-op
      // once store.ts spreads pgLeaderQueries itself).
      const store: Store = { ...createPostgresStore(client, { replicaId }), ...pgLeaderQueries(ctx) };
      stores.push(store);
      const purges: unknown[] = [];
      let wakes = 0;
      const sweep = (): Promise<SweepReport> =>
        sweepOnce({
          store,
          clock: systemClock,
          config: testConfig(),
          logger: createLogger("silent"),
          metrics: { recordPurge: (counts) => void purges.push(counts) },
          wake: () => void wakes++,
          leaseMs: 30_000,
        });
      return { sweep, purges, wakes: () => wakes };
    };
    const a = replica("replica-a");
    const b = replica("replica-b");
    try {
      expect((await a.sweep()).housekeeping).toBe(true);
      const other = await b.sweep();
      expect(other).toMatchObject({ housekeeping: false, eventsPurged: 0, keysCleared: 0, webhooksDisabled: 0 });
      expect(a.purges).toHaveLength(1);
      expect(b.purges).toHaveLength(0);
      // Both woke their dispatchers for due retries.
      expect([a.wakes(), b.wakes()]).toEqual([1, 1]);
      expect((await a.sweep()).housekeeping).toBe(true);

      // replica-a stops sweeping (it died): once its lease ran out in database time, b takes over.
      await admin.query("UPDATE leader SET expires_at = expires_at - 30001 WHERE name = $1", [HOUSEKEEPING_LEASE]);
      expect((await b.sweep()).housekeeping).toBe(true);
      expect((await a.sweep()).housekeeping).toBe(false);
    } finally {
      for (const s of stores) await s.close();
    }
  });
});
