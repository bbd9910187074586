// `hookline db copy` (API.md §11): a SQLite database into an empty PostgreSQL one. Every row
// arrives as stored (secrets encrypted stay encrypted), the counts agree, a non-empty target is
// refused, a failed copy leaves the target empty, and a replica on the copy serves the old keys,
// signs with the old secrets and finishes a replay job left running.
import { Database } from "bun:sqlite";
import { afterEach, expect } from "bun:test";
import { randomBytes } from "node:crypto";
import { connectPostgres, num, type PgClient } from "../../src/db/pg/client.ts";
import { COPIED_TABLES, copySqliteToPostgres, countSource, TargetNotEmptyError } from "../../src/db/pg/copy.ts";
import { applyPgMigrations } from "../../src/db/pg/migrate.ts";
import { ReplayRunner } from "../../src/delivery/replay-runner.ts";
import { standardSignature } from "../../src/delivery/signing.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { type RunningServer, startServer } from "../../src/server.ts";
import { type CreatedWebhook, createEventTypes, json } from "../support/fixtures.ts";
import { type Harness, harness, ROOT_KEY, testConfig } from "../support/harness.ts";
import { describePostgres, freshDatabase, postgresTest } from "../support/postgres.ts";
import { type Receiver, receiver } from "../support/receiver.ts";

const KEY = randomBytes(32).toString("base64");
const SECRET = `whsec_${randomBytes(32).toString("base64")}`;
const SECURITY = { allow_http: true, allow_private_networks: true, encryption_key: KEY };

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Polls `cond` every 20 ms, for 20 s at most (the assertion after it says what did not happen). */
async function waitUntil(cond: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await cond()) && Date.now() < deadline) await Bun.sleep(20);
}

async function target(): Promise<{ url: string; client: PgClient }> {
  const url = await freshDatabase();
  const client = connectPostgres(url, 2);
  cleanups.push(() => client.close());
  await applyPgMigrations(client);
  return { url, client };
}

interface Source {
  h: Harness;
  /** A second connection to the file, for the copy (the server is stopped: its dispatcher is). */
  sqlite: Database;
  webhook: CreatedWebhook;
  publisher: string;
  ok: Receiver;
  /** The member.added events (the ones `webhook` subscribes to). */
  memberAdded: string[];
  /** A replay of `webhook` left running after its first batch, and a replay of the other one, done. */
  replays: { running: string; done: string; otherWebhook: string };
}

/** A SQLite install with a bit of everything: keys, types, webhooks (one failing), events, attempts, replays. */
async function source(): Promise<Source> {
  const ok = receiver(200);
  const failing = receiver(500);
  cleanups.push(() => ok.stop(), () => failing.stop());
  const h = await harness({ security: SECURITY }, { autoDispatch: true });
  cleanups.push(() => h.close());
  await createEventTypes(h);
  const publisher = await h.key("acme", "publisher");
  await h.key("acme", "viewer");
  const made = await h.call("POST", "/v1/webhooks", {
    body: { tenant_id: "acme", url: `${ok.url}/hook`, events: ["member.*"], secret: SECRET, headers: { authorization: "Bearer old-box" } },
  });
  expect(made.status).toBe(201);
  const webhook = await json<CreatedWebhook>(made);
  const other = await h.call("POST", "/v1/webhooks", { body: { tenant_id: "acme", url: `${failing.url}/hook`, events: ["*"] } });
  expect(other.status).toBe(201);
  const otherWebhook = (await json<CreatedWebhook>(other)).id;
  const memberAdded: string[] = [];
  const since = new Date(Date.now() - 60_000).toISOString();
  for (let i = 0; i < 5; i++) {
    const res = await h.call("POST", "/v1/events", {
      key: publisher,
      headers: { "idempotency-key": `k-${i}` },
      body: { tenant_id: "acme", type: i % 2 ? "member.added" : "invoice.paid", data: { i } },
    });
    expect(res.status).toBe(202);
    if (i % 2) memberAdded.push((await json<{ id: string }>(res)).id);
  }
  // A type whose receivers get `data` as published (payload_format "data"): its column and its
  // event's body come across as stored.
  expect((await h.call("POST", "/v1/event-types", { body: { name: "order.paid", payload_format: "data" } })).status).toBe(201);
  const raw = await h.call("POST", "/v1/events", {
    key: publisher,
    body: '{"tenant_id":"acme","type":"order.paid","data":{ "b":1, "a":"\\u00e9" }}',
  });
  expect(raw.status).toBe(202);
  // The two member.added (i = 1, 3) reach `ok` (200); all six reach `failing` (500: retries pending).
  await ok.waitFor(2);
  await failing.waitFor(6);
  await h.dispatcher.stop(1_000);
  // Replay jobs, with the dispatcher stopped (their deliveries stay pending): the other webhook's
  // run to the end; `webhook`'s given one batch of two events (invoice.paid, member.added), so it
  // is left running with a cursor, as a box stopped mid-replay leaves it.
  const replay = async (id: string) => {
    const res = await h.call("POST", `/v1/webhooks/${id}/replay`, { body: { since } });
    expect(res.status).toBe(202);
    return (await json<{ id: string }>(res)).id;
  };
  const runner = (batchSize: number) =>
    new ReplayRunner({ store: h.deps.store, clock: h.deps.clock, logger: createLogger("silent"), wake: () => {}, options: { batchSize } });
  const done = await replay(otherWebhook);
  expect((await runner(100).runOnce()).finished).toBe(1);
  const running = await replay(webhook.id);
  expect(await runner(2).runOnce()).toMatchObject({ progressed: 1, created: 1, finished: 0 });
  const sqlite = new Database(`${h.dir}/hookline.db`);
  cleanups.push(() => sqlite.close());
  return { h, sqlite, webhook, publisher, ok, memberAdded, replays: { running, done, otherWebhook } };
}

/** Every row of a table, in key order, in one shape for both stores (bigints as numbers, booleans as 0/1). */
async function rowsOf(table: (typeof COPIED_TABLES)[number], from: { sqlite?: Database; pg?: PgClient }): Promise<unknown[][]> {
  const columns = table.columns.map(([c]) => c).join(", ");
  const sql = `SELECT ${columns} FROM ${table.name} ORDER BY ${table.orderBy}`;
  if (from.sqlite) return from.sqlite.query<Record<string, unknown>, []>(sql).all().map((r) => table.columns.map(([c]) => r[c] ?? null));
  const rows = await (from.pg as PgClient).query(sql);
  return rows.map((r) =>
    table.columns.map(([c, type]) => {
      const v = r[c] ?? null;
      if (v === null) return null;
      if (type === "bigint") return num(v);
      if (type === "boolean") return v ? 1 : 0;
      return v;
    }),
  );
}

describePostgres("db copy: SQLite into an empty PostgreSQL database", () => {
  postgresTest("every row as stored, the counts verified; a replica on the copy takes the old keys, signs with the old secret and finishes the running replay", async () => {
    const src = await source();
    const { url, client } = await target();
    const counts = countSource(src.sqlite);
    expect(counts.attempts).toBeGreaterThanOrEqual(7);
    expect(counts.replay_jobs).toBe(2);

    const progress: string[] = [];
    const result = await copySqliteToPostgres(src.sqlite, client, { onProgress: (p) => progress.push(p.table) });
    expect(result.counts).toEqual(counts);
    expect(result.secrets).toEqual({ encrypted: 2, plaintext: 0 });
    expect([...new Set(progress)]).toEqual(COPIED_TABLES.map((t) => t.name));
    for (const table of COPIED_TABLES) {
      expect(await rowsOf(table, { pg: client }), table.name).toEqual(await rowsOf(table, { sqlite: src.sqlite }));
    }
    const formats = await client.query("SELECT payload, payload_format FROM events WHERE type = 'order.paid'");
    expect(formats).toEqual([{ payload: '{ "b":1, "a":"\\u00e9" }', payload_format: "data" }]);
    const [type] = await client.query("SELECT payload_format FROM event_types WHERE name = 'order.paid'");
    expect(type?.payload_format).toBe("data");
    // Encrypted stays encrypted: the stored secret is the ciphertext, not the secret.
    const [stored] = await client.query("SELECT secret, headers FROM webhooks WHERE id = $1", [src.webhook.id]);
    expect(String(stored?.secret)).toStartWith("enc:");
    expect(String(stored?.headers)).not.toContain("old-box");
    // Replay jobs as they were, their leases free (PostgreSQL's own columns, not in SQLite).
    const jobs = await client.query("SELECT id, status, matched, created, lease_holder, lease_expires_at FROM replay_jobs ORDER BY id");
    expect(jobs).toEqual([
      { id: src.replays.done, status: "done", matched: 6, created: 6, lease_holder: null, lease_expires_at: null },
      { id: src.replays.running, status: "running", matched: 1, created: 1, lease_holder: null, lease_expires_at: null },
    ]);

    const okBefore = src.ok.received.length;
    // A replica on the copy, with the same key: the publisher key made in SQLite works, and the
    // delivery is signed with the secret made in SQLite and carries the decrypted header.
    await src.h.close();
    const server: RunningServer = await startServer(
      testConfig({ database: { url }, security: SECURITY, server: { port: 0 } }),
      { logger: createLogger("silent") },
    );
    cleanups.push(() => server.stop());
    const res = await fetch(`${server.url}/v1/events`, {
      method: "POST",
      headers: { authorization: `Bearer ${src.publisher}`, "content-type": "application/json" },
      body: JSON.stringify({ tenant_id: "acme", type: "member.added", data: { after: "copy" } }),
    });
    expect(res.status).toBe(202);
    // The replay's deliveries reach `ok` too: the fresh event's is the one with its data.
    await waitUntil(() => src.ok.received.some((r) => r.body.includes('"after":"copy"')));
    const got = src.ok.received.find((r) => r.body.includes('"after":"copy"'));
    if (!got) throw new Error("no delivery");
    expect(got.headers.authorization).toBe("Bearer old-box");
    const expected = standardSignature(SECRET, got.headers["webhook-id"] ?? "", Number(got.headers["webhook-timestamp"]), got.body);
    expect((got.headers["webhook-signature"] ?? "").split(" ")).toContain(expected);

    // The replay left running goes on on PostgreSQL from its cursor: done, each member.added
    // matched once, and both replayed to `ok` by the replica (the one pending since SQLite too).
    const replayOf = async () => {
      const r = await fetch(`${server.url}/v1/webhooks/${src.webhook.id}/replays/${src.replays.running}`, {
        headers: { authorization: `Bearer ${ROOT_KEY}` },
      });
      expect(r.status).toBe(200);
      return json<{ status: string; matched: number; created: number; skipped: number }>(r);
    };
    await waitUntil(async () => (await replayOf()).status !== "running");
    expect(await replayOf()).toMatchObject({ status: "done", matched: 2, created: 2, skipped: 0 });
    const replayedAfterCopy = () => src.ok.received.slice(okBefore).map((r) => r.headers["webhook-id"]);
    await waitUntil(() => src.memberAdded.every((id) => replayedAfterCopy().includes(id)));
    expect(replayedAfterCopy()).toEqual(expect.arrayContaining(src.memberAdded));
  });

  postgresTest("a database that holds rows is refused, and left as it was", async () => {
    const src = await source();
    const { client } = await target();
    await copySqliteToPostgres(src.sqlite, client);
    const before = await rowsOf(COPIED_TABLES[0] as (typeof COPIED_TABLES)[number], { pg: client });
    const refused = await copySqliteToPostgres(src.sqlite, client).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(TargetNotEmptyError);
    expect(String((refused as Error).message)).toContain("api_keys: 2 rows");
    expect(await rowsOf(COPIED_TABLES[0] as (typeof COPIED_TABLES)[number], { pg: client })).toEqual(before);
  });

  postgresTest("a copy that fails part way leaves the target empty, so it can be run again", async () => {
    const src = await source();
    const { client } = await target();
    // The target refuses one event (the fourth table): keys, types and webhooks were in by then.
    await client.query("ALTER TABLE events ADD CONSTRAINT refuse_one CHECK (payload NOT LIKE '%\"i\":3%')");
    const failed = await copySqliteToPostgres(src.sqlite, client).catch((err: unknown) => err);
    expect(String(failed)).toContain("refuse_one");
    for (const table of COPIED_TABLES) {
      const [row] = await client.query(`SELECT count(*) AS n FROM ${table.name}`);
      expect(num(row?.n), table.name).toBe(0);
    }
    await client.query("ALTER TABLE events DROP CONSTRAINT refuse_one");
    expect((await copySqliteToPostgres(src.sqlite, client)).counts).toEqual(countSource(src.sqlite));
  });
});
