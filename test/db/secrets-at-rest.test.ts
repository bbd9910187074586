// Webhook signing secrets encrypted at rest (security.encryption_key): the bytes of the SQLite
// file and its WAL never hold a secret, deliveries are still signed, an existing plaintext
// database is migrated in place by `hookline secrets encrypt`, and a missing or wrong key is
// refused with a clear message.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Webhook } from "standardwebhooks";
import { createApp } from "../../src/api/app.ts";
import type { Config } from "../../src/config/types.ts";
import { encryptStoredSecrets } from "../../src/db/secrets-migration.ts";
import { createSecretBox, KEY_MISMATCH, KEY_MISSING, SecretKeyError } from "../../src/domain/secret-box.ts";
import { newId } from "../../src/lib/ids.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { openMigrated } from "../../src/db/open.ts";
import { openSqliteStore } from "../../src/db/open-store.ts";
import { createRuntime } from "../../src/runtime.ts";
import {
  cleanupAfterEach,
  createEventTypes,
  type CreatedWebhook,
  json,
  publishEvent,
  type WebhookView,
} from "../support/fixtures.ts";
import { type Harness, harness, publicResolver, ROOT_KEY, testConfig } from "../support/harness.ts";
import { run, startServe } from "../support/process.ts";
import { type Receiver, receiver } from "../support/receiver.ts";

const KEY = randomBytes(32).toString("base64");
const OTHER_KEY = randomBytes(32).toString("hex");
const newSecret = () => `whsec_${randomBytes(32).toString("base64")}`;

let h: Harness;
const { track } = cleanupAfterEach(() => h);

const BASE = { allow_http: true, allow_private_networks: true };

async function setup(key?: string): Promise<Harness> {
  const made = await harness({
    security: { ...BASE, ...(key ? { encryption_key: key } : {}) },
    signing: { rotation_overlap: 3_600_000 },
  });
  await createEventTypes(made);
  return made;
}

async function subscribe(
  r: Receiver,
  secret: string,
  on: Harness = h,
  headers: Record<string, string> = {},
): Promise<CreatedWebhook> {
  const res = await on.call("POST", "/v1/webhooks", {
    body: { tenant_id: "acme", url: `${r.url}/hook`, events: ["member.added"], secret, headers },
  });
  expect(res.status).toBe(201);
  const wh = await json<CreatedWebhook>(res);
  expect(wh.secret).toBe(secret);
  return wh;
}

async function rotate(id: string, secret: string, on: Harness = h): Promise<void> {
  const res = await on.call("POST", `/v1/webhooks/${id}/rotate-secret`, { body: { secret } });
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ secret });
}

/** The database file and its WAL, byte for byte (latin1 keeps every byte as one character). */
function onDisk(dbPath: string): string {
  const read = (p: string) => (existsSync(p) ? readFileSync(p).toString("latin1") : "");
  return read(dbPath) + read(`${dbPath}-wal`);
}

function expectAbsent(bytes: string, secret: string): void {
  // Neither the secret nor its base64 body: not a substring of any stored value.
  expect(bytes.includes(secret)).toBe(false);
  expect(bytes.includes(secret.slice("whsec_".length))).toBe(false);
}

/** Publishes one member.added for acme and sends it to the receiver. */
async function deliverOne(r: Receiver): Promise<{ body: string; headers: Record<string, string> }> {
  const before = r.received.length;
  await publishEvent(h, { tenant_id: "acme", type: "member.added", data: { n: 1 } });
  expect(await h.dispatcher.dispatchOnce()).toBe(1);
  await r.waitFor(before + 1);
  return r.received[before] as { body: string; headers: Record<string, string> };
}

const stored = (id: string) =>
  h.sqlite.query<{ secret: string; previous_secret: string | null }, [string]>(
    "SELECT secret, previous_secret FROM webhooks WHERE id = ?",
  ).get(id);

describe("secret box", () => {
  test("AES-256-GCM with a fresh IV per value; plaintext passes through; hex and base64 keys agree", () => {
    const bytes = randomBytes(32);
    const box = createSecretBox(bytes.toString("base64"));
    const secret = newSecret();
    const a = box.encrypt(secret);
    const b = box.encrypt(secret);
    expect(box.enabled).toBe(true);
    expect(a).toMatch(/^enc:v1:[A-Za-z0-9+/]{16}:[A-Za-z0-9+/=]+$/);
    expect(a).not.toBe(b);
    expect(box.decrypt(a)).toBe(secret);
    expect(createSecretBox(bytes.toString("hex")).decrypt(b)).toBe(secret);
    expect(createSecretBox(bytes.toString("base64url")).decrypt(b)).toBe(secret);
    expect(box.decrypt(secret)).toBe(secret);

    const none = createSecretBox(undefined);
    expect(none.enabled).toBe(false);
    expect(none.encrypt(secret)).toBe(secret);
    expect(none.decrypt(secret)).toBe(secret);
  });

  test("no key, another key or a tampered value: a clear error that carries no secret", () => {
    const secret = newSecret();
    const sealed = createSecretBox(KEY).encrypt(secret);
    const failure = (fn: () => unknown): Error => {
      try {
        fn();
      } catch (err) {
        return err as Error;
      }
      throw new Error("expected an error");
    };
    const missing = failure(() => createSecretBox(undefined).decrypt(sealed));
    expect(missing).toBeInstanceOf(SecretKeyError);
    expect(missing.message).toBe(KEY_MISSING);
    expect(missing.message).toContain("security.encryption_key is not set");
    const wrong = failure(() => createSecretBox(OTHER_KEY).decrypt(sealed));
    expect(wrong.message).toBe(KEY_MISMATCH);
    expect(wrong.message).toContain("does not match");
    const last = sealed.at(-3) === "A" ? "B" : "A";
    const tampered = failure(() => createSecretBox(KEY).decrypt(`${sealed.slice(0, -3)}${last}${sealed.slice(-2)}`));
    expect(tampered.message).toBe(KEY_MISMATCH);
    expect(failure(() => createSecretBox(KEY).decrypt("enc:v1:garbage")).message).toContain("not a valid enc:v1 value");
    for (const e of [missing, wrong, tampered]) {
      expect(e.message).not.toContain(secret.slice("whsec_".length));
      expect(e.message).not.toContain(sealed);
    }
  });
});

describe("with security.encryption_key", () => {
  test("the secret is in neither the database file nor its WAL, and deliveries verify", async () => {
    h = await setup(KEY);
    const r = track(receiver(204));
    const secret = newSecret();
    const wh = await subscribe(r, secret);

    const row = stored(wh.id);
    expect(row?.secret).toMatch(/^enc:v1:/);
    expect(row?.previous_secret).toBeNull();
    expect(existsSync(`${h.deps.config.database.path}-wal`)).toBe(true);
    expectAbsent(onDisk(h.deps.config.database.path), secret);

    const got = await deliverOne(r);
    expect(() => new Webhook(secret).verify(got.body, got.headers)).not.toThrow();

    // Reads and lists still never show it.
    const one = await (await h.call("GET", `/v1/webhooks/${wh.id}`)).text();
    const list = await (await h.call("GET", "/v1/webhooks?tenant_id=acme")).text();
    for (const text of [one, list]) {
      expect(text).not.toContain(secret.slice("whsec_".length));
      expect(text).not.toContain("enc:v1");
    }
    expect((JSON.parse(one) as WebhookView & { secret?: string }).secret).toBeUndefined();
  });

  test("rotate-secret encrypts both; during the overlap both signatures verify", async () => {
    h = await setup(KEY);
    const r = track(receiver(204));
    const first = newSecret();
    const second = newSecret();
    const wh = await subscribe(r, first);
    await rotate(wh.id, second);

    const row = stored(wh.id);
    expect(row?.secret).toMatch(/^enc:v1:/);
    expect(row?.previous_secret).toMatch(/^enc:v1:/);
    const bytes = onDisk(h.deps.config.database.path);
    expectAbsent(bytes, first);
    expectAbsent(bytes, second);

    const got = await deliverOne(r);
    expect(got.headers["webhook-signature"]?.split(" ")).toHaveLength(2);
    expect(() => new Webhook(second).verify(got.body, got.headers)).not.toThrow();
    expect(() => new Webhook(first).verify(got.body, got.headers)).not.toThrow();
    expect(() => new Webhook(newSecret()).verify(got.body, got.headers)).toThrow();

    // PATCH rewrites the row (returning it): the stored values stay encrypted and readable.
    expect((await h.call("PATCH", `/v1/webhooks/${wh.id}`, { body: { description: "x" } })).status).toBe(200);
    expect(stored(wh.id)?.secret).toMatch(/^enc:v1:/);
    const again = await deliverOne(r);
    expect(() => new Webhook(second).verify(again.body, again.headers)).not.toThrow();
  });
});

test("without a key the plaintext IS in the file (so the checks above can see a secret)", async () => {
  h = await setup();
  const r = track(receiver(204));
  const secret = newSecret();
  const wh = await subscribe(r, secret);
  await rotate(wh.id, newSecret());
  expect(stored(wh.id)?.previous_secret).toBe(secret);
  expect(onDisk(h.deps.config.database.path).includes(secret)).toBe(true);
});

describe("an existing plaintext database", () => {
  const main = join(import.meta.dir, "..", "..", "src", "main.ts");
  const cli = (...args: string[]) => [process.execPath, main, ...args];
  let cwd: string;
  let db: string;
  let r: Receiver;
  const secrets: string[] = [];
  const BULK = 1_100; // more than two batches of 500
  // A secret custom header (test/secret-headers.test.ts): migrated with the signing secrets.
  const TOKEN = `tok_${randomBytes(12).toString("hex")}`;

  beforeAll(async () => {
    cwd = mkdtempSync(join(tmpdir(), "hookline-secrets-"));
    db = join(cwd, "hookline.db");
    r = receiver(204);
    // Built without a key, with one rotation, then copied out of the harness.
    const p = await setup();
    secrets.push(newSecret(), newSecret());
    const wh = await subscribe(r, secrets[0] as string, p, { authorization: `Bearer ${TOKEN}` });
    await rotate(wh.id, secrets[1] as string, p);
    const insert = p.sqlite.query<unknown, [string, string, string, string, number]>(
      `INSERT INTO webhooks (id, tenant_id, url, events, headers, secret, previous_secret, created_at, updated_at)
       VALUES (?1, ?2, ?3, '["member.added"]', '{}', ?4, NULL, ?5, ?5)`,
    );
    p.sqlite.transaction(() => {
      for (let i = 0; i < BULK; i++) {
        const s = newSecret();
        if (i % 100 === 0) secrets.push(s);
        insert.run(newId("wh"), `bulk${i % 3}`, `https://example.com/hook/${i}`, s, Date.now());
      }
    })();
    p.sqlite.run("PRAGMA wal_checkpoint(TRUNCATE)");
    copyFileSync(p.deps.config.database.path, db);
    await p.close();
    for (const s of secrets) expect(onDisk(db).includes(s)).toBe(true);
    expect(onDisk(db).includes(TOKEN)).toBe(true);
  });
  afterAll(async () => {
    await r.stop();
    rmSync(cwd, { recursive: true, force: true });
  });

  const env = (key?: string) => ({ HOOKLINE_DATABASE_PATH: db, ...(key ? { HOOKLINE_SECURITY_ENCRYPTION_KEY: key } : {}) });

  /** A runtime on the copied file, as `serve` builds it. */
  function runtimeAt(key?: string) {
    const config: Config = testConfig({ security: { ...BASE, ...(key ? { encryption_key: key } : {}) } }, db);
    const opened = openSqliteStore(config);
    return { ...opened, ...createRuntime(config, opened.store, { logger: createLogger("silent"), resolver: publicResolver }) };
  }

  test("`secrets encrypt` without a key refuses with exit 2 and changes nothing", async () => {
    const res = await run(cli("secrets", "encrypt"), { cwd, env: env() });
    expect(res.code).toBe(2);
    expect(res.stderr).toContain("security.encryption_key is not set");
    expect(onDisk(db).includes(secrets[0] as string)).toBe(true);
    const usage = await run(cli("secrets"), { cwd, env: env(KEY) });
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("hookline secrets encrypt");
  });

  test("a key-less server warns once that secrets are stored in plaintext", async () => {
    const { proc, url, output } = await startServe(cli("serve"), { cwd, env: { ...env(), HOOKLINE_ROOT_KEY: ROOT_KEY } });
    // Answering proves start-up finished (signal handlers included) before the SIGTERM.
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
    const warnings = output()
      .split("\n")
      .filter((l) => l.includes("stored in plaintext"));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("security.encryption_key");
    expect(warnings[0]).toContain('"level":40');
  }, 30_000);

  test("`secrets encrypt` encrypts every secret in place, in batches, and is idempotent", async () => {
    const res = await run(cli("secrets", "encrypt"), { cwd, env: env(KEY) });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain(`encrypted the secrets of ${BULK + 1} webhook(s); 0 already encrypted`);
    // stderr is a pipe here, not a TTY: no progress line.
    expect(res.stderr).not.toContain("\r");

    const bytes = onDisk(db);
    for (const s of secrets) expectAbsent(bytes, s);
    expect(bytes.includes(TOKEN)).toBe(false);
    expect(bytes).toContain("enc:v1:");

    const again = await run(cli("secrets", "encrypt"), { cwd, env: env(KEY) });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain(`encrypted the secrets of 0 webhook(s); ${BULK + 1} already encrypted`);
  }, 30_000);

  test("progress is reported per batch of 500", () => {
    // The CLI prints it only to a TTY; the counts come from here.
    const { sqlite } = openMigrated(testConfig({}, join(cwd, "progress.db")));
    try {
      const add = sqlite.query<unknown, [string, string, string]>(
        `INSERT INTO webhooks (id, tenant_id, url, events, headers, secret, created_at, updated_at)
         VALUES (?1, 't', ?2, '[]', '{}', ?3, 0, 0)`,
      );
      sqlite.transaction(() => {
        for (let i = 0; i < 1_001; i++) add.run(newId("wh"), `https://example.com/${i}`, newSecret());
      })();
      const seen: string[] = [];
      const box = createSecretBox(KEY);
      const result = encryptStoredSecrets(sqlite, box, { onProgress: (d, t) => seen.push(`${d}/${t}`) });
      expect(seen).toEqual(["500/1001", "1000/1001", "1001/1001"]);
      expect(result).toEqual({ encrypted: 1_001, skipped: 0, walTruncated: true });
      expect(() => encryptStoredSecrets(sqlite, createSecretBox(OTHER_KEY))).toThrow(KEY_MISMATCH);
    } finally {
      sqlite.close();
    }
  });

  test("the migrated database delivers with valid signatures, old and new", async () => {
    const rt = runtimeAt(KEY);
    try {
      expect(rt.secretsAtRest).toEqual({ keyConfigured: true, encrypted: true, plaintext: false });
      const app = createApp(rt.deps);
      const res = await app.handle(
        new Request("http://hookline.test/v1/events", {
          method: "POST",
          headers: { authorization: `Bearer ${ROOT_KEY}`, "content-type": "application/json" },
          body: JSON.stringify({ tenant_id: "acme", type: "member.added", data: { n: 2 } }),
        }),
      );
      expect(res.status).toBe(202);
      const before = r.received.length;
      expect(await rt.dispatcher.dispatchOnce()).toBe(1);
      await r.waitFor(before + 1);
      const got = r.received[before] as { body: string; headers: Record<string, string> };
      expect(() => new Webhook(secrets[1] as string).verify(got.body, got.headers)).not.toThrow();
      expect(() => new Webhook(secrets[0] as string).verify(got.body, got.headers)).not.toThrow();
      expect(got.headers.authorization).toBe(`Bearer ${TOKEN}`);
    } finally {
      await rt.deps.store.close();
    }
  });

  test("no key or the wrong key: refused at start with a clear message", async () => {
    expect(() => runtimeAt()).toThrow(KEY_MISSING);
    expect(() => runtimeAt(OTHER_KEY)).toThrow(KEY_MISMATCH);

    const serve = await run(cli("serve"), { cwd, env: { ...env(OTHER_KEY), HOOKLINE_SERVER_PORT: "0" } });
    expect(serve.code).not.toBe(0);
    expect(serve.stderr).toContain("webhook secrets are encrypted but security.encryption_key does not match");
    expect(serve.stdout).not.toContain("hookline listening");
    const bare = await run(cli("serve"), { cwd, env: { ...env(), HOOKLINE_SERVER_PORT: "0" } });
    expect(bare.code).not.toBe(0);
    expect(bare.stderr).toContain("webhook secrets are encrypted but security.encryption_key is not set");

    const migrate = await run(cli("secrets", "encrypt"), { cwd, env: env(OTHER_KEY) });
    expect(migrate.code).toBe(2);
    expect(migrate.stderr).toContain("does not match");
    expect(migrate.stderr).toContain("nothing was changed");
    for (const out of [serve, bare, migrate]) {
      for (const s of secrets) expect(out.stderr + out.stdout).not.toContain(s.slice("whsec_".length));
    }
  }, 30_000);
});
