import type { Config } from "../config/types.ts";
import { encryptDatabaseSecrets } from "../db/secrets-migration.ts";
import { connectPostgresPatiently, migratePgSchema, reportRetries } from "../db/pg/connect.ts";
import { encryptPgSecrets } from "../db/pg/secrets.ts";
import { createSecretBox, type SecretBox, SecretKeyError } from "../domain/secret-box.ts";
import { redactDatabaseUrl } from "../lib/database-url.ts";
import { type ProgressLine, progressLine } from "./progress.ts";

export interface SecretsArgs {
  action: string | undefined;
}

/**
 * `hookline secrets encrypt`: encrypts the webhook secrets (signing secrets and secret custom
 * header values) still stored in plaintext, in place.
 * Safe beside a running server that has the same key (it reads both forms); idempotent.
 */
export async function secretsCommand(config: Config, args: SecretsArgs): Promise<number> {
  if (args.action !== "encrypt") {
    process.stderr.write("usage: hookline secrets encrypt [--config FILE] (see hookline --help)\n");
    return 2;
  }
  if (!config.security.encryption_key) {
    process.stderr.write(
      "hookline secrets encrypt: security.encryption_key is not set; set it (or HOOKLINE_SECURITY_ENCRYPTION_KEY) to 32 random bytes, e.g. `openssl rand -base64 32`\n",
    );
    return 2;
  }
  const secrets = createSecretBox(config.security.encryption_key);
  const progress = progressLine(process.stderr);
  if (config.database.url) return encryptOnPostgres(config.database.url, secrets, progress);
  try {
    const result = encryptDatabaseSecrets(config, secrets, {
      batchSize: 500,
      onProgress: progress.enabled ? (done, total) => progress.update(`encrypted ${done}/${total}`) : undefined,
    });
    progress.end();
    process.stdout.write(
      `encrypted the secrets of ${result.encrypted} webhook(s); ${result.skipped} already encrypted (${config.database.path})\n`,
    );
    if (result.encrypted > 0) {
      process.stderr.write(
        "note: copies of secrets deleted or replaced before this run may remain in the file's free space until SQLite reuses it; for a clean file, stop Hookline and VACUUM the database\n",
      );
    }
    if (!result.walTruncated) {
      process.stderr.write(
        "note: another process holds the database open; old pages leave its -wal file at that process's next checkpoint\n",
      );
    }
    return 0;
  } catch (err) {
    progress.end();
    if (err instanceof SecretKeyError) {
      process.stderr.write(`hookline secrets encrypt: ${err.message}; nothing was changed\n`);
      return 2;
    }
    throw err;
  }
}

/** The same on PostgreSQL (db/pg/secrets.ts), beside running replicas that have the key. */
async function encryptOnPostgres(url: string, secrets: SecretBox, progress: ProgressLine): Promise<number> {
  const database = redactDatabaseUrl(url);
  // Migrated first, as the SQLite command does (openMigrated).
  const { client } = await connectPostgresPatiently(url, 1, migratePgSchema, { onRetry: reportRetries(url) });
  try {
    const result = await encryptPgSecrets(client, secrets, {
      batchSize: 500,
      onProgress: progress.enabled ? (done, total) => progress.update(`encrypted ${done}/${total}`) : undefined,
    });
    progress.end();
    process.stdout.write(`encrypted the secrets of ${result.encrypted} webhook(s); ${result.skipped} already encrypted (${database})\n`);
    if (result.encrypted > 0) {
      process.stderr.write(
        "note: PostgreSQL keeps the old row versions (with the plaintext) in the table's files until vacuum reuses their space, and in its WAL and any backups taken before; run `VACUUM webhooks` for a clean table\n",
      );
    }
    return 0;
  } catch (err) {
    progress.end();
    if (err instanceof SecretKeyError) {
      process.stderr.write(`hookline secrets encrypt: ${err.message}; nothing was changed\n`);
      return 2;
    }
    throw err;
  } finally {
    await client.close();
  }
}
