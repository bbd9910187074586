// Opening a PostgreSQL store (openStore with database.url): the stored-secrets check refuses a
// key that cannot read them, `secrets encrypt`'s twin encrypts in place, and a database migrated
// by a newer binary refuses this one (exit 2, both versions named).
import { afterEach, expect } from "bun:test";
import { randomBytes } from "node:crypto";
import journal from "../../migrations-pg/meta/_journal.json" with { type: "json" };
import { openStore } from "../../src/db/open-store.ts";
import { connectPostgres, type PgClient } from "../../src/db/pg/client.ts";
import { applyPgMigrations } from "../../src/db/pg/migrate.ts";
import { checkPgStoredSecrets, countPgSecrets, encryptPgSecrets } from "../../src/db/pg/secrets.ts";
import { createSecretBox, KEY_MISMATCH, KEY_MISSING, SecretKeyError } from "../../src/domain/secret-box.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { StartupError } from "../../src/startup-error.ts";
import { testConfig } from "../support/harness.ts";
import { describePostgres, freshDatabase, postgresTest } from "../support/postgres.ts";

const KEY = randomBytes(32).toString("base64");
const OTHER = randomBytes(32).toString("base64");
const clients: PgClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
});

async function migrated(): Promise<{ url: string; client: PgClient }> {
  const url = await freshDatabase();
  const client = connectPostgres(url, 2);
  clients.push(client);
  await applyPgMigrations(client);
  return { url, client };
}

/** A webhook row as stored with no key configured: every secret in plaintext. */
async function plaintextWebhook(client: PgClient, id: string): Promise<void> {
  await client.query(
    `INSERT INTO webhooks (id, tenant_id, url, events, headers, secret, previous_secret, created_at, updated_at)
     VALUES ($1, 'acme', $2, '["*"]', $3, 'whsec_current', 'whsec_previous', 1, 1)`,
    [id, `https://example.com/${id}`, JSON.stringify({ authorization: "Bearer t0ken", "x-plain": "visible" })],
  );
}

const silent = createLogger("silent");

describePostgres("opening the PostgreSQL store", () => {
  postgresTest("secrets: plaintext counted, encrypted in place, and a replica without the key or with another refused", async () => {
    const { url, client } = await migrated();
    for (const id of ["wh_1", "wh_2", "wh_3"]) await plaintextWebhook(client, id);
    const box = createSecretBox(KEY);
    expect(await checkPgStoredSecrets(client, createSecretBox(undefined))).toEqual({ plaintext: true, encrypted: false });
    expect(await countPgSecrets(client)).toEqual({ encrypted: 0, plaintext: 3 });

    const progress: number[] = [];
    expect(await encryptPgSecrets(client, box, { batchSize: 2, onProgress: (done) => progress.push(done) })).toEqual({ encrypted: 3, skipped: 0 });
    expect(progress).toEqual([2, 3]);
    expect(await encryptPgSecrets(client, box)).toEqual({ encrypted: 0, skipped: 3 });
    expect(await countPgSecrets(client)).toEqual({ encrypted: 3, plaintext: 0 });
    const [row] = await client.query("SELECT secret, previous_secret, headers FROM webhooks WHERE id = 'wh_1'");
    expect(String(row?.secret)).toStartWith("enc:");
    expect(String(row?.previous_secret)).toStartWith("enc:");
    const headers = JSON.parse(String(row?.headers)) as Record<string, string>;
    expect(headers.authorization).toStartWith("enc:");
    expect(headers["x-plain"]).toBe("visible");
    expect(await checkPgStoredSecrets(client, box)).toEqual({ plaintext: false, encrypted: true });

    // serve refuses to start without the key, or with another one; a tool (keys) does not look.
    const config = (key?: string) => testConfig({ database: { url }, security: key ? { encryption_key: key } : {} });
    for (const [key, message] of [[undefined, KEY_MISSING], [OTHER, KEY_MISMATCH]] as const) {
      const refused = await openStore(config(key), { logger: silent }).catch((err: unknown) => err);
      expect(refused).toBeInstanceOf(SecretKeyError);
      expect((refused as Error).message).toBe(message);
    }
    const tool = await openStore(config(), { purpose: "tool" });
    expect(tool.secretsAtRest).toBeUndefined();
    await tool.close();
    const opened = await openStore(config(KEY), { logger: silent });
    expect(opened).toMatchObject({ kind: "postgres", exposed: [], secretsAtRest: { plaintext: false, encrypted: true, keyConfigured: true } });
    expect(opened.location).not.toContain(new URL(url).password);
    expect((await opened.store.getWebhook("wh_1"))?.secret).toBe("whsec_current");
    await opened.close();
  });

  postgresTest("a database migrated by a newer binary: exit 2 naming both versions", async () => {
    const { url, client } = await migrated();
    await client.query("INSERT INTO __drizzle_migrations (hash, created_at) VALUES ('from-the-future', $1)", [Date.now() + 86_400_000]);
    const refused = await openStore(testConfig({ database: { url } }), { logger: silent }).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(StartupError);
    expect((refused as StartupError).exitCode).toBe(2);
    // This binary knows the journal's migrations; the database holds one more.
    const known = journal.entries.length;
    expect((refused as Error).message).toContain(`the database schema is at migration ${known + 1}, newer than this binary's ${known}`);
  });
});
