// Three `hookline serve` processes on one PostgreSQL database (API.md §11): what one replica
// changes the others apply, a key raced on two makes one event, and `kill -9` of one replica
// mid-delivery loses nothing, while no delivery is ever attempted by two replicas at once and
// retries are not multiplied by the replica count.
import { afterAll, beforeAll, expect } from "bun:test";
import { SQL } from "bun";
import { describePostgres, freshDatabase, postgresTest } from "../support/postgres.ts";
import { api, attemptSink, overlapping, type Replica, ReplicaSet, replicaConfig, rootHeaders, waitUntil } from "./pg-replica-rig.ts";

let set: ReplicaSet;
let sink: ReturnType<typeof attemptSink>;
let db: SQL;
let r: Replica[];

describePostgres("three replicas on one PostgreSQL database", () => {
  beforeAll(async () => {
    const url = await freshDatabase();
    db = new SQL(url);
    sink = attemptSink(40);
    set = new ReplicaSet(url, replicaConfig());
    // Started together: the migration lock lets one apply the schema while the others wait.
    r = await Promise.all([set.start("a"), set.start("b"), set.start("c")]);
  }, 60_000);

  afterAll(async () => {
    await set?.stop();
    await db?.close();
    await sink?.stop();
  });

  postgresTest("a webhook created on one replica gets what another accepts right after the 201", async () => {
    const [a, b, c] = r as [Replica, Replica, Replica];
    // Each replica has read tenant "fresh"'s (empty) subscriber list just before: a stale cache
    // would fan out to nobody.
    for (const x of [a, b, c]) {
      expect((await api(x.url, "POST", "/v1/events", { tenant_id: "fresh", type: "order.created", data: {} })).status).toBe(202);
    }
    for (let round = 0; round < 3; round++) {
      const created = await api(a.url, "POST", "/v1/webhooks", { tenant_id: "fresh", url: `${sink.url}/ok/fresh-${round}`, events: ["order.*"] });
      expect(created.status).toBe(201);
      const published = await api(round % 2 === 0 ? b.url : c.url, "POST", "/v1/events", { tenant_id: "fresh", type: "order.created", data: { round } });
      expect(published.status).toBe(202);
      const deliveries = await db`SELECT count(*)::int AS n FROM deliveries WHERE event_id = ${published.body?.id}`;
      expect(deliveries[0].n, `round ${round}: every webhook created so far`).toBe(round + 1);
    }
  });

  postgresTest("a key revoked on one replica is refused by the others within a second", async () => {
    const [a, b, c] = r as [Replica, Replica, Replica];
    const made = await api(a.url, "POST", "/v1/keys", { tenant_id: "acme", role: "viewer", name: "to revoke" });
    expect(made.status).toBe(201);
    const key = made.body?.key as string;
    const as = { authorization: `Bearer ${key}` };
    // Known (and so cached) by every replica.
    for (const x of [a, b, c]) expect((await fetch(`${x.url}/v1/webhooks`, { headers: as })).status).toBe(200);

    expect((await api(a.url, "DELETE", `/v1/keys/${made.body?.id}`)).status).toBe(204);
    const revokedAt = performance.now();
    expect((await fetch(`${a.url}/v1/webhooks`, { headers: as })).status).toBe(401);
    for (const x of [b, c]) {
      let refusedAfter = Number.POSITIVE_INFINITY;
      await waitUntil(async () => {
        const status = (await fetch(`${x.url}/v1/webhooks`, { headers: as })).status;
        if (status === 401) refusedAfter = performance.now() - revokedAt;
        return status === 401;
      }, 5_000);
      // A second, plus what a loaded two-core machine takes to answer the poll.
      expect(refusedAfter, `replica ${x.name}`).toBeLessThan(1_500);
    }
  });

  postgresTest("an idempotency key raced on two replicas makes one event", async () => {
    const [, b, c] = r as [Replica, Replica, Replica];
    for (let i = 0; i < 20; i++) {
      const body = { tenant_id: "race", type: "order.created", idempotency_key: `race-${i}`, data: { i } };
      const [x, y] = await Promise.all([api(b.url, "POST", "/v1/events", body), api(c.url, "POST", "/v1/events", body)]);
      expect([x.status, y.status].sort()).toEqual([200, 202]);
      expect(x.body?.id).toBe(y.body?.id as string);
    }
    const events = await db`SELECT count(*)::int AS n FROM events WHERE tenant_id = 'race'`;
    expect(events[0].n).toBe(20);
  });

  postgresTest(
    "kill -9 of one replica mid-delivery: every accepted event delivered, no overlapping attempts, retries not multiplied",
    async () => {
      const [a, b, c] = r as [Replica, Replica, Replica];
      const hooks = ["one", "two", "three"];
      for (const h of hooks) {
        expect((await api(a.url, "POST", "/v1/webhooks", { tenant_id: "load", url: `${sink.url}/ok/${h}`, events: ["order.created"] })).status).toBe(201);
      }
      // Every delivery of tenant "flaky" fails: 1 + 2 retries each, whichever replica sends them.
      expect((await api(b.url, "POST", "/v1/webhooks", { tenant_id: "flaky", url: `${sink.url}/fail/x`, events: ["order.created"] })).status).toBe(201);
      const failing: string[] = [];
      for (let i = 0; i < 10; i++) {
        const p = await api([a, b, c][i % 3]?.url as string, "POST", "/v1/events", { tenant_id: "flaky", type: "order.created", data: { i } });
        failing.push(p.body?.id as string);
      }

      // The failing ones, while all three replicas sweep and claim: exactly three attempts each
      // (at the receiver and in the database), and failed for good. Before the kill, so no
      // attempt cut off by it (sent, answered, its outcome never written) is counted here.
      const done = async () =>
        Number((await db`SELECT count(*)::int AS n FROM deliveries WHERE tenant_id = 'flaky' AND status = 'failed'`)[0].n) === failing.length;
      expect(await waitUntil(done, 30_000)).toBe(true);
      for (const id of failing) {
        expect(sink.attempts.filter((x) => x.key === `/fail/x ${id}`).length, id).toBe(3);
      }
      const attempts = await db`SELECT count(*)::int AS n FROM attempts t JOIN deliveries d ON d.id = t.delivery_id WHERE d.tenant_id = 'flaky'`;
      expect(attempts[0].n).toBe(failing.length * 3);

      // 600 events round-robin over the three replicas by 12 publishers.
      const accepted: string[] = [];
      let next = 0;
      await Promise.all(
        Array.from({ length: 12 }, async () => {
          while (next < 600) {
            const n = next++;
            const to = r[n % 3] as Replica;
            const res = await fetch(`${to.url}/v1/events`, {
              method: "POST",
              headers: rootHeaders,
              body: JSON.stringify({ tenant_id: "load", type: "order.created", data: { n } }),
            });
            expect(res.status).toBe(202);
            accepted.push(((await res.json()) as { id: string }).id);
          }
        }),
      );
      // Killed while it has attempts in flight (the receiver takes 40 ms each).
      // Claim tokens start with the replica's host:pid: (src/db/pg/open.ts).
      const inFlightOnA = async () =>
        Number((await db`SELECT count(*)::int AS n FROM deliveries WHERE status = 'delivering' AND claim_token LIKE ${`%:${a.proc.pid}:%`}`)[0].n) > 0;
      expect(await waitUntil(inFlightOnA, 10_000)).toBe(true);
      a.proc.kill("SIGKILL");
      await a.proc.exited;

      const all = (ids: string[]) => ids.flatMap((id) => hooks.map((h) => `/ok/${h} ${id}`));
      const wanted = all(accepted);
      const missing = () => wanted.filter((k) => !sink.received.has(k));
      expect(await waitUntil(() => missing().length === 0, 45_000), `${missing().length} of ${wanted.length} not delivered`).toBe(true);

      expect(overlapping(sink.attempts)).toEqual([]);
      // The survivors are still serving.
      for (const x of [b, c]) expect((await fetch(`${x.url}/readyz`)).status).toBe(200);
    },
    120_000,
  );
});
