// Clock skew between replicas (API.md §11: leases are taken and compared in the database's
// time). Two whole runtimes — API, dispatcher, sweep — on one PostgreSQL database; replica A
// has an attempt in flight to a receiver that does not answer yet, replica B's clock runs ten
// minutes ahead. B's sweep and dispatcher must leave A's live claim alone. The control runs B
// with leases on its own clock, and there B steals the claim: the test can tell the two apart.
import { afterEach, expect } from "bun:test";
import { createApp } from "../../src/api/app.ts";
import type { Config } from "../../src/config/types.ts";
import { connectPostgres, type PgClient } from "../../src/db/pg/client.ts";
import { applyPgMigrations } from "../../src/db/pg/migrate.ts";
import { createPostgresStore } from "../../src/db/pg/store.ts";
import type { LeaseClock } from "../../src/db/pg/store/hot-path.ts";
import { sweepOnce } from "../../src/delivery/sweep.ts";
import { type Clock, systemClock } from "../../src/domain/clock.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { createRuntime, type Runtime } from "../../src/runtime.ts";
import { publicResolver, ROOT_KEY, testConfig } from "../support/harness.ts";
import { describePostgres, freshDatabase, postgresTest } from "../support/postgres.ts";
import { type Receiver, receiver } from "../support/receiver.ts";

const TEN_MINUTES = 10 * 60_000;
const logger = createLogger("silent");
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function replica(url: string, config: Config, clock: Clock, leaseClock: LeaseClock, name: string): { rt: Runtime; client: PgClient } {
  const client = connectPostgres(url, 4);
  const store = createPostgresStore(client, { replicaId: name, leaseClock });
  const rt = createRuntime(config, store, { logger, clock, resolver: publicResolver });
  cleanups.push(async () => {
    await rt.dispatcher.stop(0);
    rt.closeOutbound();
    await store.close();
  });
  return { rt, client };
}

async function call(rt: Runtime, method: string, path: string, body: unknown) {
  const res = await createApp(rt.deps).handle(
    new Request(`http://hookline.test${path}`, {
      method,
      headers: { authorization: `Bearer ${ROOT_KEY}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    }),
  );
  return { status: res.status, body: (await res.json()) as { id: string } };
}

/** A with an attempt in flight, B ten minutes ahead after its sweep and dispatcher ran: what B did. */
async function skewed(bLeases: LeaseClock): Promise<{ recovered: number; sink: Receiver; token: string | null; aToken: string | null }> {
  const url = await freshDatabase();
  const admin = connectPostgres(url, 2);
  cleanups.push(() => admin.close());
  await applyPgMigrations(admin);
  const sink = receiver("hang");
  cleanups.push(() => sink.stop());
  const config = testConfig({ security: { allow_http: true, allow_private_networks: true }, delivery: { timeout: 5_000, jitter: 0 } });

  const a = replica(url, config, systemClock, "database", "replica-a");
  const ahead: Clock = { now: () => Date.now() + TEN_MINUTES };
  const b = replica(url, config, ahead, bLeases, "replica-b");

  expect((await call(a.rt, "POST", "/v1/event-types", { name: "order.created" })).status).toBe(201);
  expect((await call(a.rt, "POST", "/v1/webhooks", { tenant_id: "acme", url: `${sink.url}/hook`, events: ["*"] })).status).toBe(201);
  a.rt.dispatcher.start();
  const published = await call(a.rt, "POST", "/v1/events", { tenant_id: "acme", type: "order.created", data: {} });
  expect(published.status).toBe(202);
  await sink.waitFor(1);
  const [held] = await admin.query<{ claim_token: string | null }>("SELECT claim_token FROM deliveries WHERE event_id = $1", [published.body.id]);

  // B: a sweep (lease recovery) and a dispatch pass at its own time, ten minutes ahead.
  b.rt.dispatcher.start();
  const report = await sweepOnce({ store: b.rt.deps.store, clock: ahead, config, logger, metrics: b.rt.deps.metrics, wake: () => b.rt.dispatcher.wake() });
  await b.rt.dispatcher.atRest();
  const [now] = await admin.query<{ claim_token: string | null }>("SELECT claim_token FROM deliveries WHERE event_id = $1", [published.body.id]);
  return { recovered: report.leasesRecovered, sink, token: now?.claim_token ?? null, aToken: held?.claim_token ?? null };
}

describePostgres("a replica whose clock runs ten minutes ahead", () => {
  postgresTest("leases in database time: it takes no live lease of another replica", async () => {
    const { recovered, sink, token, aToken } = await skewed("database");
    expect(recovered).toBe(0);
    expect(sink.received).toHaveLength(1);
    expect(aToken).toStartWith("replica-a/");
    expect(token).toBe(aToken);
  });

  postgresTest("control: with leases on its own clock, it would take the claim and send again", async () => {
    const { recovered, sink, token } = await skewed("caller");
    expect(recovered).toBe(1);
    await sink.waitFor(2);
    expect(token).toStartWith("replica-b/");
  });
});
