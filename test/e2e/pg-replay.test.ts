// A replay survives kill -9 of the replica running it (issue 19, API.md §14, §11): two
// `hookline serve` processes on one PostgreSQL database, a backfill job mid-way, the replica that
// holds the job's lease killed with SIGKILL. The other takes the job over once the lease ran out
// and finishes it from the cursor: every event gets a delivery to the webhook, at most one batch's
// worth twice (a batch is one transaction with the cursor and the lease), the receiver gets all.
import { afterAll, beforeAll, expect } from "bun:test";
import { SQL } from "bun";
import { REPLAY_DEFAULTS } from "../../src/delivery/replay-runner.ts";
import { describePostgres, freshDatabase, postgresTest } from "../support/postgres.ts";
import { api, attemptSink, type Replica, ReplicaSet, replicaConfig, waitUntil } from "./pg-replica-rig.ts";

// ~950 events/s (REPLAY_DEFAULTS: 100 per batch, 100 ms apart): ~3 s of replay, room to kill
// it mid-way. The takeover waits for the lease (REPLAY_DEFAULTS.leaseMs, 30 s), not for N.
const EVENTS = 3_000;
let set: ReplicaSet;
let sink: ReturnType<typeof attemptSink>;
let db: SQL;
let r: Replica[];

interface JobRow {
  status: string;
  matched: number;
  created: number;
  skipped: number;
  lease_holder: string | null;
}

describePostgres("a replay on two replicas", () => {
  beforeAll(async () => {
    const url = await freshDatabase();
    db = new SQL(url);
    sink = attemptSink(0);
    set = new ReplicaSet(url, replicaConfig());
    r = await Promise.all([set.start("a"), set.start("b")]);
  }, 60_000);

  afterAll(async () => {
    await set?.stop();
    await db?.close();
    await sink?.stop();
  });

  postgresTest(
    "kill -9 of the replica running a replay: the other finishes it after the lease, without duplicating more than one batch",
    async () => {
      const [a, b] = r as [Replica, Replica];
      const since = new Date(Date.now() - 1_000).toISOString();
      const published: string[] = [];
      let next = 0;
      // Published through both replicas, before the webhook exists (a backfill).
      await Promise.all(
        Array.from({ length: 16 }, async (_, c) => {
          while (next < EVENTS) {
            const n = next++;
            const res = await api((c % 2 ? b : a).url, "POST", "/v1/events", { tenant_id: "acme", type: "order.created", data: { n } });
            expect(res.status).toBe(202);
            published.push(res.body?.id as string);
          }
        }),
      );
      expect(published.length).toBe(EVENTS);

      const wh = await api(a.url, "POST", "/v1/webhooks", { tenant_id: "acme", url: `${sink.url}/ok/replayed`, events: ["order.*"] });
      expect(wh.status).toBe(201);
      const webhookId = wh.body?.id as string;
      const started = await api(a.url, "POST", `/v1/webhooks/${webhookId}/replay`, { since });
      expect(started.status).toBe(202);
      const replayId = started.body?.id as string;
      const job = async () => (await db`SELECT status, matched, created, skipped, lease_holder FROM replay_jobs WHERE id = ${replayId}`)[0] as JobRow;

      // Mid-way, and held by one replica: its name is host:pid:… (db/pg/open.ts).
      let before: JobRow | undefined;
      const midway = await waitUntil(async () => {
        before = await job();
        return before.created >= EVENTS / 4 && before.lease_holder !== null;
      }, 20_000);
      expect(midway).toBe(true);
      const holderPid = Number(before?.lease_holder?.split(":")[1]);
      const holder = r.find((x) => x.proc.pid === holderPid);
      if (!holder) throw new Error(`no replica of ours holds the job (${before?.lease_holder})`);
      const survivor = holder === a ? b : a;
      holder.proc.kill("SIGKILL");
      await holder.proc.exited;
      const atKill = await job();
      expect(atKill.status, "killed while the job was running").toBe("running");
      expect(atKill.created).toBeLessThan(EVENTS);
      expect(atKill.lease_holder).toBe(before?.lease_holder ?? "");

      // The survivor takes it over once the dead replica's lease ran out, and finishes it.
      const replayPath = `/v1/webhooks/${webhookId}/replays/${replayId}`;
      let after: Record<string, unknown> | undefined;
      const done = await waitUntil(async () => {
        after = (await api(survivor.url, "GET", replayPath)).body;
        return after?.status !== "running";
      }, REPLAY_DEFAULTS.leaseMs + 30_000);
      expect(done).toBe(true);
      expect(after).toMatchObject({ status: "done", skipped: 0 });
      expect(after?.matched).toBe(Number(after?.created) + Number(after?.skipped));
      const finished = await job();
      expect(finished.lease_holder).toBeNull();
      const doneBy = (x: Replica) => x.output().split("\n").some((l) => l.includes('"replay done"') && l.includes(replayId));
      expect(doneBy(survivor), "the survivor logged the job done").toBe(true);
      expect(doneBy(holder)).toBe(false);

      // The receiver gets every event (the dead replica's claims come back after their lease).
      const got = (id: string) => sink.received.has(`/ok/replayed ${id}`);
      await waitUntil(() => published.every(got), 30_000);
      expect(published.filter((id) => !got(id))).toEqual([]);

      const perEvent = (await db`SELECT event_id, count(*)::int AS n FROM deliveries WHERE webhook_id = ${webhookId} GROUP BY event_id`) as {
        event_id: string;
        n: number;
      }[];
      const deliveries = new Map(perEvent.map((x) => [x.event_id, x.n]));
      expect(published.filter((id) => !deliveries.has(id)), "events without a delivery to the webhook").toEqual([]);
      expect(deliveries.size, "deliveries only for the published events").toBe(EVENTS);
      const twice = perEvent.filter((x) => x.n > 1).length;
      expect(twice, "events given more than one delivery").toBeLessThanOrEqual(REPLAY_DEFAULTS.batchSize);
      expect(after?.matched).toBe(EVENTS + twice);
      const answered = [...sink.received.entries()].filter(([k]) => k.startsWith("/ok/replayed ")).reduce((s, [, n]) => s + n, 0);
      console.log(
        `pg-replay: killed ${holder.name} at created=${before?.created} (row at kill: ${atKill.created}); ${survivor.name} finished: matched=${after?.matched} created=${after?.created}; events delivered twice by the job: ${twice}; receiver answered ${answered} times for ${EVENTS} events`,
      );
    },
    150_000,
  );
});
