import { and, count, desc, eq, isNull, lt, type SQL, sql } from "drizzle-orm";
import type { ApiKeyRecord, KeyFilter } from "../../domain/store.ts";
import { apiKeys } from "../schema/index.ts";
import { TtlCache } from "./cache.ts";
import type { Db } from "./types.ts";

// Every authenticated request looks its key up; a revocation from another process (the CLI)
// is seen within this time (API.md: within 10 s), one from this process at once.
const KEY_CACHE_MS = 1_000;

export function keyQueries(db: Db) {
  const byHash = db
    .select()
    .from(apiKeys)
    .where(eq(apiKeys.hash, sql.placeholder("hash")))
    .prepare();
  const cache = new TtlCache<ApiKeyRecord | undefined>(KEY_CACHE_MS);
  return {
    async insertKey(key: ApiKeyRecord): Promise<void> {
      db.insert(apiKeys).values({ ...key, expiresAt: key.expiresAt ?? null }).run();
    },
    async findKeyByHash(hash: string): Promise<ApiKeyRecord | undefined> {
      return cache.get(hash, () => byHash.get({ hash }));
    },
    async getKey(id: string): Promise<ApiKeyRecord | undefined> {
      return db.select().from(apiKeys).where(eq(apiKeys.id, id)).get();
    },
    /** Revoked keys are left out; expired ones stay, so admins see what expired and when. */
    async listKeys(filter: KeyFilter): Promise<ApiKeyRecord[]> {
      const conds: SQL[] = [isNull(apiKeys.revokedAt)];
      if (filter.tenantId !== undefined) conds.push(eq(apiKeys.tenantId, filter.tenantId));
      if (filter.before !== undefined) conds.push(lt(apiKeys.id, filter.before));
      return db
        .select()
        .from(apiKeys)
        .where(and(...conds))
        .orderBy(desc(apiKeys.id))
        .limit(filter.limit + 1)
        .all();
    },
    async revokeKey(id: string, at: number): Promise<boolean> {
      cache.clear();
      const res = db
        .update(apiKeys)
        .set({ revokedAt: at })
        .where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt)))
        .returning({ id: apiKeys.id })
        .all();
      return res.length > 0;
    },
    async countActiveKeys(): Promise<number> {
      const row = db.select({ n: count() }).from(apiKeys).where(isNull(apiKeys.revokedAt)).get();
      return row?.n ?? 0;
    },
  };
}
