import type { Database, Statement } from "bun:sqlite";
import { and, count, desc, eq, inArray, lt, type SQL, sql } from "drizzle-orm";
import { matchesAny } from "../../domain/event-patterns.ts";
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

// `?event=` filters with the domain's own matcher (matchesAny), not an SQL twin of it: patterns
// are read in chunks (newest first, the order of the list) and matched here until the page has
// limit + 1 matches. The first chunk is twice the page (at least CHUNK_MIN rows), each further
// one twice the last up to CHUNK_MAX, so a type most webhooks subscribe to costs one read and a
// rare one a few larger ones. Every row of the scope is looked at when few match, as SQL's
// json_each did: measured on 100,000 webhooks, both take ~35 ms then and ~1 ms for a full page.
const CHUNK_MIN = 64;
const CHUNK_MAX = 4096;

/**
 * `secrets` encrypts `secret`, `previous_secret` and the values of secret headers (inside the
 * headers JSON, same `enc:` format) on the way in and decrypts them on the way out: callers only
 * ever see plaintext, the file only ciphertext (when a key is set).
 * `changed` is told of every write, so caches of webhooks (the ingest fan-out) drop them.
 */
export function webhookQueries(sqlite: Database, db: Db, secrets: SecretBox, changed: () => void = () => {}) {
  function open<R extends Pick<WebhookRecord, "secret" | "previousSecret" | "headers">>(row: R): R {
    return {
      ...row,
      headers: openHeaders(row.headers, secrets),
      secret: secrets.decrypt(row.secret),
      previousSecret: row.previousSecret === null ? null : secrets.decrypt(row.previousSecret),
    };
  }

  // The `?event=` scan: ids and patterns (the column's JSON text) of one scope, newest first,
  // below a cursor; one prepared statement per scope (tenant or all, enabled or not). Without a
  // cursor it starts below "~", which sorts after every id.
  const scans = new Map<string, Statement<unknown, [string, string, number]>>();
  function scan(filter: WebhookFilter, before: string | undefined, size: number): [id: string, events: string][] {
    const scope = `${filter.tenantId !== undefined}/${filter.enabled}`;
    let stmt = scans.get(scope);
    if (stmt === undefined) {
      const where = ["id < ?1"];
      if (filter.tenantId !== undefined) where.push("tenant_id = ?2");
      if (filter.enabled !== undefined) where.push(`enabled = ${filter.enabled ? 1 : 0}`);
      stmt = sqlite.query<unknown, [string, string, number]>(
        `SELECT id, events FROM webhooks WHERE ${where.join(" AND ")} ORDER BY id DESC LIMIT ?3`,
      );
      scans.set(scope, stmt);
    }
    return stmt.values(before ?? "~", filter.tenantId ?? "", size) as [string, string][];
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
      const below = (id: string | undefined) => and(...conds, ...(id === undefined ? [] : [lt(webhooks.id, id)]));
      const type = filter.eventType;
      if (type === undefined) {
        return db.select().from(webhooks).where(below(filter.before)).orderBy(desc(webhooks.id)).limit(filter.limit + 1).all().map(open);
      }
      const want = filter.limit + 1;
      // One read transaction (the scan is on the same connection): the chunks and the rows they
      // pick are one snapshot, so a webhook deleted by another connection meanwhile cannot drop
      // out of the page between the two reads and make "is there more" wrong.
      return db.transaction((tx) => {
        const ids: string[] = [];
        let before = filter.before;
        for (let size = Math.max(CHUNK_MIN, 2 * want); ids.length < want; size = Math.min(size * 2, CHUNK_MAX)) {
          const chunk = scan(filter, before, size);
          for (const [id, events] of chunk) {
            if (matchesAny(JSON.parse(events) as string[], type)) ids.push(id);
            if (ids.length === want) break;
          }
          if (chunk.length < size) break;
          before = chunk[chunk.length - 1]?.[0];
        }
        if (ids.length === 0) return [];
        return tx.select().from(webhooks).where(inArray(webhooks.id, ids)).orderBy(desc(webhooks.id)).all().map(open);
      });
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
