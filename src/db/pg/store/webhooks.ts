// Webhooks on PostgreSQL: the API's writes and reads of them, and the per-tenant cache of fan-out
// targets the ingest reads (`subscribers`). Every webhook write through this replica clears that
// cache; one through another replica is seen when its entries expire (CACHE_MS, API.md §11).
import { matchesAny } from "../../../domain/event-patterns.ts";
import type {
  WebhookChanges,
  WebhookFilter,
  WebhookInsertResult,
  WebhookQuota,
  WebhookRecord,
} from "../../../domain/store.ts";
import { num, type PgQueryable, sqlState } from "../client.ts";
import { AsyncTtlCache, type PgContext } from "../context.ts";
import {
  headersText,
  toWebhook,
  WEBHOOK_INSERT_COLUMNS,
  type WebhookRow,
  webhookTouched,
  webhookValues,
} from "../rows.ts";

/**
 * The fan-out targets per tenant. What an entry holds is the ingest's business (store/ingest.ts
 * fills and reads it); this module only clears it, and its `generation` counts this replica's
 * webhook changes (held claims compare it, domain/delivery-rules/held.ts). The entry type is
 * `never` here because nothing here reads one: that way the cache is assignable to the ingest's
 * own `AsyncTtlCache<Targets>` (a class generic in its values is not, for `unknown`).
 */
export type SubscriberCache = AsyncTtlCache<never>;

// `?event=` filters with the domain's own matcher, read in chunks, as db/store/webhooks.ts does
// (its header says why and what it costs): twice the page at first (at least CHUNK_MIN rows),
// then twice the last chunk up to CHUNK_MAX, until the page has limit + 1 matches.
const CHUNK_MIN = 64;
const CHUNK_MAX = 4096;

// A quota insert that lost a serialization race is run again (see insertWebhook) after a random
// pause that grows with each loss, so racers spread out instead of meeting again at once (with
// none, 8 creators in one tenant saw losers needing 12 tries and more, and under load a bench's
// create ran out of 30 and answered 500). Bounded in time, not only in count.
const QUOTA_ATTEMPTS = 100;
const QUOTA_DEADLINE_MS = 10_000;
const quotaBackoffMs = (attempt: number): number => Math.random() * Math.min(100, 2 ** attempt);
const RETRYABLE = new Set(["40001", "40P01"]);

const INSERT = `INSERT INTO webhooks (${WEBHOOK_INSERT_COLUMNS}) VALUES (${Array.from({ length: 15 }, (_, i) => `$${i + 1}`).join(", ")})`;

type Insert = { ok: true } | { ok: false; reason: "quota"; count: number };

export function pgWebhookQueries(ctx: PgContext) {
  const { client, secrets } = ctx;
  const subscribers: SubscriberCache = new AsyncTtlCache<never>();

  /**
   * A change to existing webhooks. The cache is cleared before the write, so an ingest that reads
   * the old row from here on holds a generation the change will have moved past, and again after
   * the commit, so nothing loaded from the old row meanwhile outlives it (even when the write
   * fails: it may have committed before the connection broke).
   */
  async function changing<T>(write: () => Promise<T>): Promise<T> {
    subscribers.clear();
    try {
      return await write();
    } finally {
      subscribers.clear();
    }
  }

  /**
   * The quota's count and the insert in one SERIALIZABLE transaction. Two replicas inserting into
   * one tenant at once both read the count, then both insert: PostgreSQL's serializable snapshot
   * isolation sees the read/write cycle and fails one of them (40001), which is run again and then
   * counts the other's row. Chosen over the alternatives because it needs no schema of its own,
   * blocks nothing else (LOCK TABLE webhooks IN SHARE ROW EXCLUSIVE MODE would stall every
   * outcome that updates a webhook's failure counters, in every tenant, behind each create), and
   * holds on PostgreSQL-compatible distributed engines, which run serializable and lack both
   * table and advisory locks. A conflict between tenants (predicate locks are kept per index page
   * or table) only costs a retry.
   */
  async function insertWithinQuota(record: WebhookRecord, values: unknown[], quota: WebhookQuota): Promise<Insert> {
    const deadline = performance.now() + QUOTA_DEADLINE_MS;
    for (let attempt = 1; ; attempt++) {
      try {
        return await client.transaction(async (tx): Promise<Insert> => {
          await tx.query("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE");
          const [row] = await tx.query<{ n: unknown }>("SELECT count(*) AS n FROM webhooks WHERE tenant_id = $1", [
            record.tenantId,
          ]);
          const n = num(row?.n ?? 0);
          if (n >= quota.maxPerTenant) return { ok: false, reason: "quota", count: n };
          await tx.query(INSERT, values);
          return { ok: true };
        });
      } catch (err) {
        const state = sqlState(err);
        if (state === undefined || !RETRYABLE.has(state) || attempt >= QUOTA_ATTEMPTS || performance.now() > deadline) throw err;
        await Bun.sleep(quotaBackoffMs(attempt));
      }
    }
  }

  /** Ids and patterns of one scope, newest first, below `before` ("~" sorts after every id). */
  async function scan(tx: PgQueryable, filter: WebhookFilter, before: string | undefined, size: number) {
    const args: unknown[] = [before ?? "~", size];
    const where = ["id < $1"];
    if (filter.tenantId !== undefined) args.push(filter.tenantId) && where.push(`tenant_id = $${args.length}`);
    if (filter.enabled !== undefined) where.push(`enabled = ${filter.enabled ? "true" : "false"}`);
    return tx.query<{ id: string; events: string }>(
      `SELECT id, events FROM webhooks WHERE ${where.join(" AND ")} ORDER BY id DESC LIMIT $2`,
      args,
    );
  }

  async function listMatching(filter: WebhookFilter, type: string): Promise<WebhookRecord[]> {
    const want = filter.limit + 1;
    // One snapshot (REPEATABLE READ) for the chunks and the rows they pick, so a webhook deleted
    // meanwhile cannot drop out of the page between the two reads and make "is there more" wrong.
    const rows = await client.transaction(async (tx) => {
      await tx.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
      const ids: string[] = [];
      let before = filter.before;
      for (let size = Math.max(CHUNK_MIN, 2 * want); ids.length < want; size = Math.min(size * 2, CHUNK_MAX)) {
        const chunk = await scan(tx, filter, before, size);
        for (const { id, events } of chunk) {
          if (matchesAny(JSON.parse(events) as string[], type)) ids.push(id);
          if (ids.length === want) break;
        }
        if (chunk.length < size) break;
        before = chunk[chunk.length - 1]?.id;
      }
      if (ids.length === 0) return [];
      return tx.query<WebhookRow>("SELECT * FROM webhooks WHERE id = ANY($1::text[]) ORDER BY id DESC", [ids]);
    });
    return rows.map((r) => toWebhook(r, secrets));
  }

  /** The SET list of a PATCH (fields left undefined stay), its values appended to `args`. */
  function assignments(changes: WebhookChanges, args: unknown[]): string[] {
    const set: string[] = [];
    const put = (column: string, value: unknown) => {
      args.push(value);
      set.push(`${column} = $${args.length}`);
    };
    if (changes.url !== undefined) put("url", changes.url);
    if (changes.events !== undefined) put("events", JSON.stringify(changes.events));
    if (changes.description !== undefined) put("description", changes.description);
    if (changes.headers !== undefined) put("headers", headersText(changes.headers, secrets));
    if (changes.enabled !== undefined) put("enabled", changes.enabled);
    if (changes.disabledReason !== undefined) put("disabled_reason", changes.disabledReason);
    if (changes.failureCount !== undefined) put("failure_count", changes.failureCount);
    if (changes.failingSince !== undefined) put("failing_since", changes.failingSince);
    return set;
  }

  const queries = {
    async insertWebhook(record: WebhookRecord, quota?: WebhookQuota): Promise<WebhookInsertResult> {
      // Sealed before the transaction, which then holds only the count and the insert.
      const values = webhookValues(record, secrets);
      let result: Insert;
      try {
        if (quota === undefined) {
          await client.query(INSERT, values);
          result = { ok: true };
        } else {
          result = await insertWithinQuota(record, values, quota);
        }
      } catch (err) {
        // The unique index on (tenant_id, url): the URL once per tenant, across replicas.
        if (sqlState(err) === "23505") return { ok: false, reason: "duplicate" };
        throw err;
      }
      // After the commit, so a cache reloaded meanwhile cannot miss the new webhook.
      if (result.ok) subscribers.clear();
      return result;
    },
    async countWebhooks(tenantId: string): Promise<number> {
      const [row] = await client.query<{ n: unknown }>("SELECT count(*) AS n FROM webhooks WHERE tenant_id = $1", [
        tenantId,
      ]);
      return num(row?.n ?? 0);
    },
    async getWebhook(id: string): Promise<WebhookRecord | undefined> {
      const [row] = await client.query<WebhookRow>("SELECT * FROM webhooks WHERE id = $1", [id]);
      return row ? toWebhook(row, secrets) : undefined;
    },
    async listWebhooks(filter: WebhookFilter): Promise<WebhookRecord[]> {
      if (filter.eventType !== undefined) return listMatching(filter, filter.eventType);
      const args: unknown[] = [];
      const where: string[] = [];
      if (filter.tenantId !== undefined) args.push(filter.tenantId) && where.push(`tenant_id = $${args.length}`);
      if (filter.enabled !== undefined) where.push(`enabled = ${filter.enabled ? "true" : "false"}`);
      if (filter.before !== undefined) args.push(filter.before) && where.push(`id < $${args.length}`);
      args.push(filter.limit + 1);
      const clause = where.length > 0 ? `WHERE ${where.join(" AND ")}` : "";
      const rows = await client.query<WebhookRow>(
        `SELECT * FROM webhooks ${clause} ORDER BY id DESC LIMIT $${args.length}`,
        args,
      );
      return rows.map((r) => toWebhook(r, secrets));
    },
    async updateWebhook(
      id: string,
      changes: WebhookChanges,
      at: number,
      failReason?: string,
    ): Promise<WebhookRecord | "duplicate" | undefined> {
      const args: unknown[] = [id, at];
      // Never the value it had: an ingest or claim planned on the old row compares it.
      const set = [...assignments(changes, args), webhookTouched("$2")];
      try {
        return await changing(() =>
          client.transaction(async (tx) => {
            const [row] = await tx.query<WebhookRow>(
              `UPDATE webhooks SET ${set.join(", ")} WHERE id = $1 RETURNING *`,
              args,
            );
            if (row && changes.enabled === false && failReason !== undefined) {
              // In the same transaction, so none of them is claimed after the 200. The status is
              // a literal: the partial index on the webhook's pending deliveries.
              await tx.query(
                `UPDATE deliveries SET status = 'failed', next_attempt_at = NULL, last_error = $2, updated_at = $3
                 WHERE webhook_id = $1 AND status = 'pending'`,
                [id, failReason, at],
              );
            }
            return row ? toWebhook(row, secrets) : undefined;
          }),
        );
      } catch (err) {
        if (sqlState(err) === "23505") return "duplicate";
        throw err;
      }
    },
    async deleteWebhook(id: string): Promise<boolean> {
      // Deliveries and attempts go with it through ON DELETE CASCADE.
      const rows = await changing(() => client.query("DELETE FROM webhooks WHERE id = $1 RETURNING id", [id]));
      return rows.length > 0;
    },
    async rotateSecret(webhookId: string, secret: string, previousExpiresAt: number, now: number): Promise<void> {
      // previous_secret = secret copies the stored (possibly encrypted) value as it is.
      await changing(() =>
        client.query(
          `UPDATE webhooks SET previous_secret = secret, previous_secret_expires_at = $1, secret = $4, ${webhookTouched("$2")}
           WHERE id = $3`,
          [previousExpiresAt, now, webhookId, secrets.encrypt(secret)],
        ),
      );
    },
  };

  return { queries, subscribers };
}
