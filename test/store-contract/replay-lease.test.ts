// Replay jobs on several replicas (API.md §11, §14): the replica that runs a batch holds the
// job's lease, renewed by each of its batches; another replica neither lists nor runs the job
// until that lease ran out (its holder was killed), then goes on from the cursor.
import { expect } from "bun:test";
import { connectPostgres } from "../../src/db/pg/client.ts";
import { applyPgMigrations } from "../../src/db/pg/migrate.ts";
import { createPostgresStore } from "../../src/db/pg/store.ts";
import { newId } from "../../src/lib/ids.ts";
import { freshDatabase, postgresTest } from "../support/postgres.ts";
import { timeAfterIssuedIds } from "./records.ts";
import { publish, subscribe } from "./steps.ts";

const OPTS = { limit: 2, maxDue: 1_000, leaseMs: 30_000 };

postgresTest("a job leased by one replica is run by another only after that lease ran out, from the cursor", async () => {
  const url = await freshDatabase();
  const clientA = connectPostgres(url, 4);
  await applyPgMigrations(clientA);
  const a = createPostgresStore(clientA, { leaseClock: "caller", replicaId: "a" });
  const b = createPostgresStore(connectPostgres(url, 4), { leaseClock: "caller", replicaId: "b" });
  try {
    const t = timeAfterIssuedIds();
    const events: string[] = [];
    for (let i = 0; i < 5; i++) events.push((await publish(a, { createdAt: t + i })).event.id);
    const w = await subscribe(a, { createdAt: t + 5 });
    const id = newId("rpl", t + 5);
    await a.insertReplay({
      id, webhookId: w.id, tenantId: w.tenantId, since: t, until: t + 5, eventTypes: null, status: "running",
      matched: 0, created: 0, skipped: 0, cursorCreatedAt: null, cursorId: null, error: null, startedAt: t + 5, finishedAt: null,
    });
    // Both ask at once: one batch runs, the other finds the job leased.
    const now = t + 10;
    const [ra, rb] = await Promise.all([a.replayBatch(id, now, OPTS), b.replayBatch(id, now, OPTS)]);
    const kinds = [ra.kind, rb.kind].sort();
    expect(kinds).toEqual(["gone", "progressed"]);
    const holder = ra.kind === "progressed" ? a : b;
    const other = holder === a ? b : a;
    expect(await other.runnableReplays(now + 1, 10)).toEqual([]);
    expect(await holder.runnableReplays(now + 1, 10)).toEqual([id]);
    expect((await holder.replayBatch(id, now + 1, OPTS)).kind).toBe("progressed");
    // Renewed by that batch: still the holder's just before now + 1 + leaseMs.
    expect(await other.replayBatch(id, now + OPTS.leaseMs, OPTS)).toEqual({ kind: "gone" });
    const later = now + 1 + OPTS.leaseMs + 1;
    expect(await other.runnableReplays(later, 10)).toEqual([id]);
    expect(await other.replayBatch(id, later, OPTS)).toMatchObject({ kind: "progressed", finished: true });
    expect(await a.getReplay(id)).toMatchObject({ status: "done", matched: 5, created: 5 });
    const counts = await Promise.all(events.map(async (e) => (await a.listEventDeliveries(e)).length));
    expect(counts).toEqual([1, 1, 1, 1, 1]);
  } finally {
    await a.close();
    await b.close();
  }
});
