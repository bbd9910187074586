// A PostgreSQL claim reads the due rows in pieces without locks (the head of the queue in two
// pages, then each webhook's own rows), so one row can turn up in two pieces: the queue moves
// between the reads (another replica gives a claim back, due earlier), or a webhook's own rows
// start with the ones the head already gave. Whatever the pieces, a claim returns each delivery
// once: a delivery returned twice is sent twice (the bench's backlog saw ~100 of 20,000 received
// twice on PostgreSQL, none on SQLite, whose claim writes row by row).
import { afterEach, beforeEach, expect } from "bun:test";
import type { PgClient, Row } from "../../src/db/pg/client.ts";
import { AsyncTtlCache } from "../../src/db/pg/context.ts";
import { pgClaimQueries } from "../../src/db/pg/store/claims.ts";
import { createSecretBox } from "../../src/domain/secret-box.ts";
import type { ClaimedDelivery, ClaimOptions } from "../../src/domain/store.ts";
import { eventRecord, timeAfterIssuedIds, webhookRecord } from "../store-contract/records.ts";
import { describePostgres, postgresTest } from "../support/postgres.ts";
import { deliveryRow, type HotPathDatabase, hotPathDatabase, insertWebhook, type Replica } from "./pg-hot-paths-rig.ts";

const opts = (over: Partial<ClaimOptions>): ClaimOptions => ({
  limit: 100,
  leaseMs: 30_000,
  perWebhookCap: 1_000,
  inflight: new Map(),
  ...over,
});

// The second page of the head (claims.ts's DUE with a non-zero offset).
const isSecondHeadPage = (text: string, params: readonly unknown[]) =>
  text.startsWith("SELECT id, webhook_id FROM deliveries WHERE status = 'pending'") && params[2] !== 0;

/** `client`, running `before` once just before the claim reads the second page of the head. */
function beforeSecondPage(client: PgClient, before: () => Promise<void>): PgClient {
  let armed = true;
  return {
    ...client,
    async query<T extends Row>(text: string, params: readonly unknown[] = []): Promise<T[]> {
      if (armed && isSecondHeadPage(text, params)) {
        armed = false;
        await before();
      }
      return client.query<T>(text, params);
    },
  };
}

/** One event per `createdAt`, fanned out to the webhooks subscribed to `type`. */
async function publish(r: Replica, type: string, times: number[]): Promise<void> {
  for (const at of times) await r.ingest({ event: eventRecord({ createdAt: at, type }), idempotencySince: 0 });
}

async function expectClaimedOnce(db: HotPathDatabase, claims: ClaimedDelivery[], count: number): Promise<void> {
  const ids = claims.map((c) => c.id);
  expect(ids.length - new Set(ids).size).toBe(0);
  expect(ids).toHaveLength(count);
  for (const c of claims) {
    expect(await deliveryRow(db.admin, c.id)).toMatchObject({ status: "delivering", claimToken: c.claimToken });
  }
}

describePostgres("PostgreSQL claim: a delivery read twice is claimed and returned once", () => {
  let db: HotPathDatabase;
  beforeEach(async () => {
    db = await hotPathDatabase();
  });
  afterEach(() => db.close());

  postgresTest("the queue moves between the head's two pages (a claim given back, due earlier): the row read on both is returned once", async () => {
    const t = timeAfterIssuedIds();
    const other = db.replica("other", "caller");
    for (let i = 0; i < 2; i++) await insertWebhook(db.admin, webhookRecord({ createdAt: t }));
    // 100 events × 2 webhooks, each event due a millisecond after the one before: no ties.
    await publish(other, "member.added", Array.from({ length: 100 }, (_, i) => t + i));
    const [given] = await other.claims.claimDue(t + 1_000, opts({ limit: 1 }));
    // Between the pages the other replica gives its claim back due before all of them: the
    // first page's last row is at the second page's start.
    const client = beforeSecondPage(db.replica("claimer", "caller").client, async () => {
      await other.claims.releaseClaims([given?.id ?? ""], t - 1);
    });
    const ctx = { client, secrets: createSecretBox(undefined), replicaId: "claimer" };
    const claimer = pgClaimQueries(ctx, new AsyncTtlCache<unknown>(), { leaseClock: "caller" });
    await expectClaimedOnce(db, await claimer.claimDue(t + 1_000, opts({ limit: 100 })), 100);
  });

  postgresTest("a webhook's own rows start with those the head gave it: the ones read twice are returned once", async () => {
    const t = timeAfterIssuedIds();
    const r = db.replica("r1", "caller");
    await insertWebhook(db.admin, webhookRecord({ createdAt: t, events: ["member.added", "member.removed"] }));
    await insertWebhook(db.admin, webhookRecord({ createdAt: t, events: ["member.added"] }));
    // Both webhooks' first two rows, then 62 of the first one's: the head's first page is full.
    await publish(r, "member.added", [t, t + 1]);
    await publish(r, "member.removed", Array.from({ length: 62 }, (_, i) => t + 2 + i));
    // Cap 3: the first webhook is at its cap after the head, the second has room left, so its
    // own rows are read too — starting with the two the head gave it.
    await expectClaimedOnce(db, await r.claims.claimDue(t + 1_000, opts({ limit: 10, perWebhookCap: 3 })), 5);
  });
});
