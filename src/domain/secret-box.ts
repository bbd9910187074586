// Encryption at rest of webhook signing secrets (security.encryption_key). The store encrypts on
// every write and decrypts on every read, so the domain only ever sees plaintext secrets.
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

/** Stored form: `enc:v1:<base64 IV>:<base64 ciphertext + 16-byte GCM tag>`. */
export const ENCRYPTED_PREFIX = "enc:";
const V1 = "enc:v1:";
const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface SecretBox {
  /** Whether a key is configured: without one, `encrypt` returns its input. */
  readonly enabled: boolean;
  encrypt(plain: string): string;
  /** A stored value without the `enc:` prefix is plaintext and comes back as is. */
  decrypt(stored: string): string;
}

/** A stored secret cannot be read with the configured key (or without one). Never carries a secret. */
export class SecretKeyError extends Error {
  override name = "SecretKeyError";
}

export const KEY_MISSING =
  "webhook secrets are encrypted but security.encryption_key is not set (set it, or HOOKLINE_SECURITY_ENCRYPTION_KEY, to the key they were encrypted with)";
export const KEY_MISMATCH =
  "webhook secrets are encrypted but security.encryption_key does not match the key they were encrypted with";

export function isEncrypted(stored: string): boolean {
  return stored.startsWith(ENCRYPTED_PREFIX);
}

/** 32 bytes as 64 hex characters or as base64 (standard or URL-safe), as src/config/schema.ts accepts. */
export function parseEncryptionKey(key: string): Buffer {
  const bytes = /^[0-9a-fA-F]{64}$/.test(key) ? Buffer.from(key, "hex") : Buffer.from(key, "base64");
  if (bytes.length !== 32) {
    throw new Error("security.encryption_key must be 32 random bytes as base64 (44 characters) or hex (64 characters)");
  }
  return bytes;
}

export function createSecretBox(key: string | undefined): SecretBox {
  const k = key === undefined || key === "" ? undefined : parseEncryptionKey(key);

  function decryptV1(stored: string): string {
    if (!k) throw new SecretKeyError(KEY_MISSING);
    const parts = stored.slice(V1.length).split(":");
    const iv = Buffer.from(parts[0] ?? "", "base64");
    const sealed = Buffer.from(parts[1] ?? "", "base64");
    if (parts.length !== 2 || iv.length !== IV_BYTES || sealed.length < TAG_BYTES) {
      throw new SecretKeyError("a stored webhook secret is not a valid enc:v1 value (the database was altered by hand?)");
    }
    const decipher = createDecipheriv("aes-256-gcm", k, iv);
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES)), decipher.final()]).toString(
        "utf8",
      );
    } catch {
      // GCM authentication failed: another key (or a tampered value). Node's message says neither.
      throw new SecretKeyError(KEY_MISMATCH);
    }
  }

  return {
    enabled: k !== undefined,
    encrypt(plain: string): string {
      if (!k) return plain;
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv("aes-256-gcm", k, iv);
      const body = Buffer.concat([cipher.update(plain, "utf8"), cipher.final(), cipher.getAuthTag()]);
      return `${V1}${iv.toString("base64")}:${body.toString("base64")}`;
    },
    decrypt(stored: string): string {
      if (!isEncrypted(stored)) return stored;
      if (stored.startsWith(V1)) return decryptV1(stored);
      throw new SecretKeyError("a stored webhook secret uses an unknown encryption format (written by a newer Hookline?)");
    },
  };
}
