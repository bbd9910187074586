// Webhook secrets at rest: the start-up check that the configured key reads what the database
// holds, and the in-place migration of plaintext secrets (`hookline secrets encrypt`).
import type { Database } from "bun:sqlite";
import type { SecretBox } from "../domain/secret-box.ts";

/** Rows with a secret or previous secret not yet encrypted (exact prefix match, not LIKE). */
const HAS_PLAINTEXT = `(substr(secret, 1, 4) <> 'enc:'
  OR (previous_secret IS NOT NULL AND substr(previous_secret, 1, 4) <> 'enc:'))`;
const HAS_ENCRYPTED = `(substr(secret, 1, 4) = 'enc:' OR substr(previous_secret, 1, 4) = 'enc:')`;

export interface StoredSecrets {
  /** Some secret is stored in plaintext (all of them when no key is configured). */
  plaintext: boolean;
  /** Some secret is stored encrypted (and the configured key reads it: otherwise the check threw). */
  encrypted: boolean;
}

/**
 * Decrypts one encrypted secret, if the database holds any, with the configured key: throws a
 * SecretKeyError (no key, or another key) rather than let a server start that cannot sign.
 */
export function checkStoredSecrets(sqlite: Database, secrets: SecretBox): StoredSecrets {
  const one = sqlite
    .query<{ secret: string; previous_secret: string | null }, []>(
      `SELECT secret, previous_secret FROM webhooks WHERE ${HAS_ENCRYPTED} LIMIT 1`,
    )
    .get();
  if (one) {
    secrets.decrypt(one.secret);
    if (one.previous_secret !== null) secrets.decrypt(one.previous_secret);
  }
  const plaintext = sqlite.query<{ id: string }, []>(`SELECT id FROM webhooks WHERE ${HAS_PLAINTEXT} LIMIT 1`).get();
  return { plaintext: plaintext !== null, encrypted: one !== null };
}

export interface EncryptResult {
  /** Webhooks whose secret or previous secret was encrypted now. */
  encrypted: number;
  /** Webhooks whose secrets were already all encrypted. */
  skipped: number;
  /** Whether the write-ahead log was emptied afterwards (false when another process held it). */
  walTruncated: boolean;
}

/**
 * Encrypts every plaintext secret and previous secret in place, `batchSize` webhooks per
 * transaction, so a running server (with the same key) keeps working meanwhile. Idempotent:
 * encrypted values are left as they are. Refuses a key that does not read values already
 * encrypted, which would leave the database with two keys.
 */
export function encryptStoredSecrets(
  sqlite: Database,
  secrets: SecretBox,
  opts: { batchSize?: number; onProgress?: (done: number, total: number) => void } = {},
): EncryptResult {
  if (!secrets.enabled) throw new Error("security.encryption_key is not set: there is no key to encrypt with");
  checkStoredSecrets(sqlite, secrets);
  const batchSize = opts.batchSize ?? 500;
  const total = sqlite.query<{ n: number }, []>(`SELECT count(*) AS n FROM webhooks WHERE ${HAS_PLAINTEXT}`).get()?.n ?? 0;
  const all = sqlite.query<{ n: number }, []>("SELECT count(*) AS n FROM webhooks").get()?.n ?? 0;
  // Overwrite the old plaintext cells with zeros instead of leaving them in the pages' free space.
  sqlite.run("PRAGMA secure_delete = ON");
  const pending = sqlite.query<{ id: string; secret: string; previous_secret: string | null }, [number]>(
    `SELECT id, secret, previous_secret FROM webhooks WHERE ${HAS_PLAINTEXT} ORDER BY id LIMIT ?`,
  );
  const update = sqlite.query<unknown, [string, string | null, string]>(
    "UPDATE webhooks SET secret = ?, previous_secret = ? WHERE id = ?",
  );
  const seal = (v: string) => (v.startsWith("enc:") ? v : secrets.encrypt(v));
  const batch = sqlite.transaction(() => {
    const rows = pending.all(batchSize);
    for (const r of rows) {
      update.run(seal(r.secret), r.previous_secret === null ? null : seal(r.previous_secret), r.id);
    }
    return rows.length;
  });
  let done = 0;
  for (;;) {
    const n = batch.immediate();
    if (n === 0) break;
    done += n;
    opts.onProgress?.(done, Math.max(total, done));
  }
  // Until a checkpoint the main file still holds the old pages (and older WAL frames may too):
  // copy the new pages back and empty the WAL.
  let walTruncated = true;
  if (done > 0) {
    const cp = sqlite.query<{ busy: number }, []>("PRAGMA wal_checkpoint(TRUNCATE)").get();
    walTruncated = cp?.busy === 0;
  }
  return { encrypted: done, skipped: Math.max(0, all - total), walTruncated };
}
