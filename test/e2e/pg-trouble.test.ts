// PostgreSQL in trouble under two replicas (API.md §11 "Trouble"): stopped, crashed and
// restarted while publishers keep going, its sessions cut, and read-only. Meanwhile writes are
// `503 storage_unavailable` with Retry-After and /readyz is 503; no replica exits, each
// recovers by itself, and every event that got a 202 is delivered. Its own cluster, since it is
// stopped and started.
import { afterAll, beforeAll, expect } from "bun:test";
import { describePostgres, type PostgresCluster, postgresTest, startPostgres } from "../support/postgres.ts";
import { api, attemptSink, type Replica, ReplicaSet, replicaConfig, rootHeaders, waitUntil } from "./pg-replica-rig.ts";

let cluster: PostgresCluster;
let set: ReplicaSet;
let sink: ReturnType<typeof attemptSink>;
let r: Replica[];

const readyz = async (x: Replica) => (await fetch(`${x.url}/readyz`)).status;

/** Publishers round-robin over the replicas until stopped (at most `max` requests). */
function publishers(clients: number, max: number) {
  const accepted: string[] = [];
  const refused: { status: number; code: string | undefined; retryAfter: string | null }[] = [];
  let sent = 0;
  let stopped = false;
  const done = Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      while (!stopped && sent < max) {
        const n = sent++;
        const to = r[(n + c) % r.length] as Replica;
        const res = await fetch(`${to.url}/v1/events`, {
          method: "POST",
          headers: rootHeaders,
          body: JSON.stringify({ tenant_id: "acme", type: "order.created", data: { n } }),
        });
        const body = (await res.json()) as { id?: string; error?: string };
        if (res.status === 202) accepted.push(body.id as string);
        else {
          refused.push({ status: res.status, code: body.error, retryAfter: res.headers.get("retry-after") });
          // As a client told to come back later would, briefly.
          await Bun.sleep(20);
        }
      }
    }),
  );
  return { accepted, refused, done, stop: () => (stopped = true) };
}

describePostgres("PostgreSQL in trouble under two replicas", () => {
  beforeAll(async () => {
    cluster = await startPostgres();
    const url = await cluster.freshDatabase();
    sink = attemptSink(2);
    set = new ReplicaSet(url, replicaConfig());
    r = [await set.start("a"), await set.start("b")];
    const hook = await api((r[0] as Replica).url, "POST", "/v1/webhooks", { tenant_id: "acme", url: `${sink.url}/ok/hook`, events: ["order.*"] });
    expect(hook.status).toBe(201);
  }, 60_000);

  afterAll(async () => {
    await set?.stop();
    await sink?.stop();
    await cluster?.stop();
  });

  postgresTest(
    "stopped, crashed and restarted under load: 503s with Retry-After meanwhile, no exit, recovery by itself, nothing accepted lost",
    async () => {
      const load = publishers(8, 20_000);
      const outage = async (down: () => Promise<void>) => {
        const before = load.accepted.length;
        expect(await waitUntil(() => load.accepted.length >= before + 300, 20_000)).toBe(true);
        const refusedBefore = load.refused.length;
        await down();
        expect(await waitUntil(async () => (await Promise.all(r.map(readyz))).every((s) => s === 503), 15_000)).toBe(true);
        expect(await waitUntil(() => load.refused.length > refusedBefore + 10, 15_000)).toBe(true);
        await cluster.up();
        expect(await waitUntil(async () => (await Promise.all(r.map(readyz))).every((s) => s === 200), 30_000)).toBe(true);
        const after = load.accepted.length;
        expect(await waitUntil(() => load.accepted.length >= after + 300, 30_000)).toBe(true);
      };
      await outage(() => cluster.down("fast"));
      await outage(() => cluster.down("immediate"));
      // Every session cut at once (a failover, a proxy restart): the pools reconnect.
      const cut = load.accepted.length;
      await cluster.dropConnections();
      expect(await waitUntil(() => load.accepted.length >= cut + 300, 30_000)).toBe(true);
      load.stop();
      await load.done;

      for (const x of load.refused) {
        expect(x).toMatchObject({ status: 503, code: "storage_unavailable" });
        expect(Number(x.retryAfter)).toBeGreaterThanOrEqual(1);
      }
      for (const x of r) expect(x.proc.exitCode).toBeNull();
      const missing = () => load.accepted.filter((id) => !sink.received.has(`/ok/hook ${id}`));
      expect(await waitUntil(() => missing().length === 0, 45_000), `${missing().length} of ${load.accepted.length} accepted not delivered`).toBe(true);
    },
    180_000,
  );

  postgresTest("read-only: writes 503 storage_unavailable with Retry-After, /readyz 503, reads still served; writable again by itself", async () => {
    const [a, b] = r as [Replica, Replica];
    await cluster.setReadOnly(true);
    try {
      // A session may run one more statement with the old setting: wait for the effect.
      expect(await waitUntil(async () => (await Promise.all([a, b].map(readyz))).every((s) => s === 503), 15_000)).toBe(true);
      for (const x of [a, b]) {
        const res = await fetch(`${x.url}/v1/events`, { method: "POST", headers: rootHeaders, body: JSON.stringify({ tenant_id: "acme", type: "order.created", data: {} }) });
        expect(res.status).toBe(503);
        expect(((await res.json()) as { error: string }).error).toBe("storage_unavailable");
        expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
        const created = await api(x.url, "POST", "/v1/webhooks", { tenant_id: "acme", url: `${sink.url}/ok/${x.name}`, events: ["*"] });
        expect(created.status).toBe(503);
        expect((await api(x.url, "GET", "/v1/webhooks")).status).toBe(200);
      }
    } finally {
      await cluster.setReadOnly(false);
    }
    expect(await waitUntil(async () => (await Promise.all([a, b].map(readyz))).every((s) => s === 200), 15_000)).toBe(true);
    const again = await api(b.url, "POST", "/v1/events", { tenant_id: "acme", type: "order.created", data: {} });
    expect(again.status).toBe(202);
    expect(await waitUntil(() => sink.received.has(`/ok/hook ${again.body?.id}`), 15_000)).toBe(true);
  });
});
