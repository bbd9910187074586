// Webhook secrets at rest (signing secrets, previous secrets and the values of secret custom
// headers): the start-up check that the configured key reads what the database holds, and the
// in-place migration of plaintext ones (`hookline secrets encrypt`).
import type { Database } from "bun:sqlite";
import type { Config } from "../config/types.ts";
import type { SecretBox } from "../domain/secret-box.ts";
import { openHeaders, SECRET_HEADER_WORDS, sealPlaintextHeaders } from "../domain/webhooks/secret-headers.ts";
import { openMigrated } from "./open.ts";

/**
 * The SQL twin of `isSecretHeaderName` for a json_each row of `headers` (names are stored
 * lower-case): the same words, matched with instr(). The words are constants, not input.
 */
const SECRET_HEADER = `(${SECRET_HEADER_WORDS.map((w) => `instr(h.key, '${w}') > 0`).join(" OR ")})`;
const headerValue = (test: string) =>
  `EXISTS (SELECT 1 FROM json_each(headers) h WHERE h.type = 'text' AND ${test} AND ${SECRET_HEADER})`;

/** Rows with a secret, previous secret or secret header value not yet encrypted (exact prefix match, not LIKE). */
export const HAS_PLAINTEXT = `(substr(secret, 1, 4) <> 'enc:'
  OR (previous_secret IS NOT NULL AND substr(previous_secret, 1, 4) <> 'enc:')
  OR ${headerValue("substr(h.value, 1, 4) <> 'enc:'")})`;
const HAS_ENCRYPTED = `(substr(secret, 1, 4) = 'enc:' OR substr(previous_secret, 1, 4) = 'enc:'
  OR ${headerValue("substr(h.value, 1, 4) = 'enc:'")})`;

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
    .query<{ secret: string; previous_secret: string | null; headers: string }, []>(
      `SELECT secret, previous_secret, headers FROM webhooks WHERE ${HAS_ENCRYPTED} LIMIT 1`,
    )
    .get();
  if (one) {
    secrets.decrypt(one.secret);
    if (one.previous_secret !== null) secrets.decrypt(one.previous_secret);
    openHeaders(JSON.parse(one.headers) as Record<string, string>, secrets);
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

export interface EncryptOptions {
  batchSize?: number;
  onProgress?: ((done: number, total: number) => void) | undefined;
}

/** `hookline secrets encrypt`: `encryptStoredSecrets` on the configured database, opened (and migrated) for the run. */
export function encryptDatabaseSecrets(config: Config, secrets: SecretBox, opts: EncryptOptions = {}): EncryptResult {
  const { sqlite } = openMigrated(config);
  try {
    return encryptStoredSecrets(sqlite, secrets, opts);
  } finally {
    sqlite.close();
  }
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
  opts: EncryptOptions = {},
): EncryptResult {
  if (!secrets.enabled) throw new Error("security.encryption_key is not set: there is no key to encrypt with");
  checkStoredSecrets(sqlite, secrets);
  const batchSize = opts.batchSize ?? 500;
  const total = sqlite.query<{ n: number }, []>(`SELECT count(*) AS n FROM webhooks WHERE ${HAS_PLAINTEXT}`).get()?.n ?? 0;
  const all = sqlite.query<{ n: number }, []>("SELECT count(*) AS n FROM webhooks").get()?.n ?? 0;
  // Overwrite the old plaintext cells with zeros instead of leaving them in the pages' free space.
  sqlite.run("PRAGMA secure_delete = ON");
  const pending = sqlite.query<{ id: string; secret: string; previous_secret: string | null; headers: string }, [number]>(
    `SELECT id, secret, previous_secret, headers FROM webhooks WHERE ${HAS_PLAINTEXT} ORDER BY id LIMIT ?`,
  );
  // updated_at stays: the values a reader sees are the same, only their stored form changed.
  const update = sqlite.query<unknown, [string, string | null, string, string]>(
    "UPDATE webhooks SET secret = ?, previous_secret = ?, headers = ? WHERE id = ?",
  );
  const seal = (v: string) => (v.startsWith("enc:") ? v : secrets.encrypt(v));
  const batch = sqlite.transaction(() => {
    const rows = pending.all(batchSize);
    for (const r of rows) {
      const headers = JSON.stringify(sealPlaintextHeaders(JSON.parse(r.headers) as Record<string, string>, secrets));
      update.run(seal(r.secret), r.previous_secret === null ? null : seal(r.previous_secret), headers, r.id);
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
