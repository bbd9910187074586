// API keys on PostgreSQL: looked up by hash on every authenticated request, so that lookup is
// cached for at most CACHE_MS (API.md §11: a key revoked through any replica is refused by every
// replica within 1 s); a revocation through this replica clears the cache once it has committed.
import type { ApiKeyRecord, KeyFilter } from "../../../domain/store.ts";
import { num } from "../client.ts";
import { AsyncTtlCache, type PgContext } from "../context.ts";
import { type KeyRow, toKey } from "../rows.ts";

export function pgKeyQueries(ctx: PgContext) {
  const { client } = ctx;
  const byHash = new AsyncTtlCache<ApiKeyRecord | undefined>();

  async function one(sql: string, param: string): Promise<ApiKeyRecord | undefined> {
    const [row] = await client.query<KeyRow>(sql, [param]);
    return row ? toKey(row) : undefined;
  }

  return {
    async insertKey(key: ApiKeyRecord): Promise<void> {
      await client.query(
        `INSERT INTO api_keys (id, tenant_id, role, name, prefix, hash, created_at, revoked_at, expires_at, kind)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
        [
          key.id,
          key.tenantId,
          key.role,
          key.name,
          key.prefix,
          key.hash,
          key.createdAt,
          key.revokedAt,
          key.expiresAt ?? null,
          key.kind,
        ],
      );
      // A lookup of this hash made just before (a "no such key") must not outlive the insert.
      byHash.clear();
    },
    findKeyByHash(hash: string): Promise<ApiKeyRecord | undefined> {
      return byHash.get(hash, () => one("SELECT * FROM api_keys WHERE hash = $1", hash));
    },
    getKey(id: string): Promise<ApiKeyRecord | undefined> {
      return one("SELECT * FROM api_keys WHERE id = $1", id);
    },
    /** Revoked keys are left out; expired ones stay, so admins see what expired and when. */
    async listKeys(filter: KeyFilter): Promise<ApiKeyRecord[]> {
      const where = ["revoked_at IS NULL"];
      const args: unknown[] = [];
      if (filter.tenantId !== undefined) args.push(filter.tenantId) && where.push(`tenant_id = $${args.length}`);
      if (filter.before !== undefined) args.push(filter.before) && where.push(`id < $${args.length}`);
      args.push(filter.limit + 1);
      const rows = await client.query<KeyRow>(
        `SELECT * FROM api_keys WHERE ${where.join(" AND ")} ORDER BY id DESC LIMIT $${args.length}`,
        args,
      );
      return rows.map(toKey);
    },
    async revokeKey(id: string, at: number): Promise<boolean> {
      const rows = await client.query(
        "UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL RETURNING id",
        [id, at],
      );
      // After the commit: a lookup that ran meanwhile may have cached the key as still active.
      byHash.clear();
      return rows.length > 0;
    },
    async countActiveKeys(): Promise<number> {
      const [row] = await client.query<{ n: unknown }>("SELECT count(*) AS n FROM api_keys WHERE revoked_at IS NULL");
      return num(row?.n ?? 0);
    },
  };
}
