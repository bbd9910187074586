import { and, count, desc, eq, lt, type SQL, sql } from "drizzle-orm";
import { isOperationalType } from "../../domain/event-patterns.ts";
import type { SecretBox } from "../../domain/secret-box.ts";
import { openHeaders, sealHeaders } from "../../domain/webhooks/secret-headers.ts";
import type {
  WebhookChanges,
  WebhookFilter,
  WebhookInsertResult,
  WebhookQuota,
  WebhookRecord,
} from "../../domain/store.ts";
import { deliveries, webhooks } from "../schema/index.ts";
import { isUniqueViolation } from "./sqlite-errors.ts";
import type { Db } from "./types.ts";

/** The SQL twin of `patternMatches` in domain/event-patterns.ts. */
function subscribedTo(type: string): SQL {
  const wildcard = isOperationalType(type) ? sql`0` : sql`j.value = '*'`;
  return sql`exists (select 1 from json_each(${webhooks.events}) j where j.value = ${type}
    or ${wildcard}
    or (j.value like '%.*' and substr(${type}, 1, length(j.value) - 1) = substr(j.value, 1, length(j.value) - 1)))`;
}

/**
 * `secrets` encrypts `secret`, `previous_secret` and the values of secret headers (inside the
 * headers JSON, same `enc:` format) on the way in and decrypts them on the way out: callers only
 * ever see plaintext, the file only ciphertext (when a key is set).
 * `changed` is told of every write, so caches of webhooks (the ingest fan-out) drop them.
 */
export function webhookQueries(db: Db, secrets: SecretBox, changed: () => void = () => {}) {
  function open<R extends Pick<WebhookRecord, "secret" | "previousSecret" | "headers">>(row: R): R {
    return {
      ...row,
      headers: openHeaders(row.headers, secrets),
      secret: secrets.decrypt(row.secret),
      previousSecret: row.previousSecret === null ? null : secrets.decrypt(row.previousSecret),
    };
  }

  return {
    async insertWebhook(record: WebhookRecord, quota?: WebhookQuota): Promise<WebhookInsertResult> {
      // Sealed before the transaction: the write lock is held for the count and the insert only.
      const sealed = {
        ...record,
        headers: sealHeaders(record.headers, secrets),
        secret: secrets.encrypt(record.secret),
        previousSecret: record.previousSecret === null ? null : secrets.encrypt(record.previousSecret),
      };
      let result: WebhookInsertResult;
      try {
        // IMMEDIATE: the write lock before the count, so another connection (the CLI, another
        // process on the file) cannot insert between this count and this insert.
        result = db.transaction(
          (tx): WebhookInsertResult => {
            if (quota !== undefined) {
              const n = tx.select({ n: count() }).from(webhooks).where(eq(webhooks.tenantId, record.tenantId)).get()?.n ?? 0;
              if (n >= quota.maxPerTenant) return { ok: false, reason: "quota", count: n };
            }
            tx.insert(webhooks).values(sealed).run();
            return { ok: true };
          },
          { behavior: "immediate" },
        );
      } catch (err) {
        if (isUniqueViolation(err)) return { ok: false, reason: "duplicate" };
        throw err;
      }
      // After the commit, so a cache reloaded on the writer thread meanwhile cannot miss it.
      if (result.ok) changed();
      return result;
    },
    async countWebhooks(tenantId: string): Promise<number> {
      return db.select({ n: count() }).from(webhooks).where(eq(webhooks.tenantId, tenantId)).get()?.n ?? 0;
    },
    async getWebhook(id: string): Promise<WebhookRecord | undefined> {
      const row = db.select().from(webhooks).where(eq(webhooks.id, id)).get();
      return row ? open(row) : undefined;
    },
    async listWebhooks(filter: WebhookFilter): Promise<WebhookRecord[]> {
      const conds: SQL[] = [];
      if (filter.tenantId !== undefined) conds.push(eq(webhooks.tenantId, filter.tenantId));
      if (filter.enabled !== undefined) conds.push(eq(webhooks.enabled, filter.enabled));
      if (filter.eventType !== undefined) conds.push(subscribedTo(filter.eventType));
      if (filter.before !== undefined) conds.push(lt(webhooks.id, filter.before));
      return db
        .select()
        .from(webhooks)
        .where(and(...conds))
        .orderBy(desc(webhooks.id))
        .limit(filter.limit + 1)
        .all()
        .map(open);
    },
    async updateWebhook(
      id: string,
      changes: WebhookChanges,
      at: number,
      failReason?: string,
    ): Promise<WebhookRecord | "duplicate" | undefined> {
      changed();
      const sealed =
        changes.headers === undefined ? changes : { ...changes, headers: sealHeaders(changes.headers, secrets) };
      try {
        return db.transaction((tx) => {
          const row = tx
            .update(webhooks)
            // Never the value it had (as webhookTouched in rows.ts, for the raw statements).
            .set({ ...sealed, updatedAt: sql`max(${at}, ${webhooks.updatedAt} + 1)` })
            .where(eq(webhooks.id, id))
            .returning()
            .get();
          if (row && changes.enabled === false && failReason !== undefined) {
            tx.update(deliveries)
              .set({ status: "failed", nextAttemptAt: null, lastError: failReason, updatedAt: at })
              .where(and(eq(deliveries.webhookId, id), sql`status = 'pending'`)) // literal: the partial index
              .run();
          }
          return row ? open(row) : undefined;
        });
      } catch (err) {
        if (isUniqueViolation(err)) return "duplicate";
        throw err;
      }
    },
    async deleteWebhook(id: string): Promise<boolean> {
      changed();
      // deliveries and attempts go with it through ON DELETE CASCADE.
      return db.delete(webhooks).where(eq(webhooks.id, id)).returning({ id: webhooks.id }).all().length > 0;
    },
  };
}
