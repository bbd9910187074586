// Webhook secrets at rest in PostgreSQL: the start-up check that the configured key reads what
// the database holds, the counts `hookline doctor` shows, and `hookline secrets encrypt` — the
// twins of db/secrets-migration.ts. Rows are the same as SQLite's (headers is JSON text with
// lower-case names; an encrypted value starts with "enc:"), so only the SQL differs.
import type { SecretBox } from "../../domain/secret-box.ts";
import { openHeaders, SECRET_HEADER_WORDS, sealPlaintextHeaders } from "../../domain/webhooks/secret-headers.ts";
import type { StoredSecrets } from "../secrets-migration.ts";
import { num, type PgClient, type PgQueryable } from "./client.ts";

/** isSecretHeaderName in SQL for a jsonb_each row `h`; the words are constants, not input. */
const SECRET_HEADER = `(${SECRET_HEADER_WORDS.map((w) => `strpos(h.key, '${w}') > 0`).join(" OR ")})`;
const headerValue = (test: string) =>
  `EXISTS (SELECT 1 FROM jsonb_each(headers::jsonb) h WHERE jsonb_typeof(h.value) = 'string' AND ${test} AND ${SECRET_HEADER})`;

/** Rows with a secret, previous secret or secret header value not yet encrypted (an exact prefix, not LIKE). */
const HAS_PLAINTEXT = `(left(secret, 4) <> 'enc:'
  OR (previous_secret IS NOT NULL AND left(previous_secret, 4) <> 'enc:')
  OR ${headerValue("left(h.value #>> '{}', 4) <> 'enc:'")})`;
const HAS_ENCRYPTED = `(left(secret, 4) = 'enc:' OR left(previous_secret, 4) = 'enc:'
  OR ${headerValue("left(h.value #>> '{}', 4) = 'enc:'")})`;

interface SecretRow {
  id: string;
  secret: string;
  previous_secret: string | null;
  headers: string;
}

/**
 * Decrypts one encrypted secret, if the database holds any, with the configured key: throws a
 * SecretKeyError (no key, or another key) rather than let a replica start that cannot sign.
 */
export async function checkPgStoredSecrets(client: PgQueryable, secrets: SecretBox): Promise<StoredSecrets> {
  const [one] = await client.query<SecretRow & Record<string, unknown>>(
    `SELECT id, secret, previous_secret, headers FROM webhooks WHERE ${HAS_ENCRYPTED} LIMIT 1`,
  );
  if (one) {
    secrets.decrypt(one.secret);
    if (one.previous_secret !== null) secrets.decrypt(one.previous_secret);
    openHeaders(JSON.parse(one.headers) as Record<string, string>, secrets);
  }
  const plaintext = await client.query(`SELECT id FROM webhooks WHERE ${HAS_PLAINTEXT} LIMIT 1`);
  return { plaintext: plaintext.length > 0, encrypted: one !== undefined };
}

/** Webhooks whose secrets are all encrypted, and those with any still in plaintext (doctor). */
export async function countPgSecrets(client: PgQueryable): Promise<{ encrypted: number; plaintext: number }> {
  const [row] = await client.query(
    `SELECT count(*) AS total, count(*) FILTER (WHERE ${HAS_PLAINTEXT}) AS plaintext FROM webhooks`,
  );
  const plaintext = num(row?.plaintext ?? 0);
  return { encrypted: num(row?.total ?? 0) - plaintext, plaintext };
}

export interface PgEncryptResult {
  /** Webhooks whose secrets were encrypted now. */
  encrypted: number;
  /** Webhooks whose secrets were already all encrypted. */
  skipped: number;
}

/**
 * `hookline secrets encrypt` on PostgreSQL: every plaintext secret, previous secret and secret
 * header value encrypted in place, `batchSize` webhooks per transaction, the rows locked FOR
 * UPDATE while they are rewritten so a replica's concurrent rotation is not overwritten; running
 * replicas with the same key keep working meanwhile (they read both forms). Idempotent. Refuses
 * a key that does not read values already encrypted, which would leave two keys in the database.
 */
export async function encryptPgSecrets(
  client: PgClient,
  secrets: SecretBox,
  opts: { batchSize?: number; onProgress?: ((done: number, total: number) => void) | undefined } = {},
): Promise<PgEncryptResult> {
  if (!secrets.enabled) throw new Error("security.encryption_key is not set: there is no key to encrypt with");
  await checkPgStoredSecrets(client, secrets);
  const before = await countPgSecrets(client);
  const total = before.plaintext;
  const batchSize = opts.batchSize ?? 500;
  const seal = (v: string) => (v.startsWith("enc:") ? v : secrets.encrypt(v));
  let done = 0;
  // Onwards by id, so a row the SQL still counts as plaintext after sealing (it should not be)
  // cannot keep the loop turning.
  let after = "";
  for (;;) {
    const n = await client.transaction(async (tx) => {
      const rows = await tx.query<SecretRow & Record<string, unknown>>(
        `SELECT id, secret, previous_secret, headers FROM webhooks WHERE id > $1 AND ${HAS_PLAINTEXT} ORDER BY id LIMIT $2 FOR UPDATE`,
        [after, batchSize],
      );
      if (rows.length === 0) return 0;
      after = rows[rows.length - 1]?.id ?? after;
      // updated_at stays: what a reader sees is the same, only the stored form changed.
      await tx.query(
        `UPDATE webhooks w SET secret = u.secret, previous_secret = u.previous_secret, headers = u.headers
           FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS u(id, secret, previous_secret, headers)
          WHERE w.id = u.id`,
        [
          rows.map((r) => r.id),
          rows.map((r) => seal(r.secret)),
          rows.map((r) => (r.previous_secret === null ? null : seal(r.previous_secret))),
          rows.map((r) => JSON.stringify(sealPlaintextHeaders(JSON.parse(r.headers) as Record<string, string>, secrets))),
        ],
      );
      return rows.length;
    });
    if (n === 0) break;
    done += n;
    opts.onProgress?.(done, Math.max(total, done));
  }
  return { encrypted: done, skipped: before.encrypted };
}
