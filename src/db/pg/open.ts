// Opening the PostgreSQL store (API.md §11), openStore's branch when database.url is set: connect
// (a server not reachable yet is waited for, with a line per try: connect.ts), apply the
// migrations under their lock, check that the configured key reads the stored secrets, assemble
// the store.
//
// What SQLite's open does and this one does not, on purpose: no instance lock (several replicas
// on one database are the point), no file modes (nothing is kept in local files), no writer
// thread (the server does its own writing; the pool is the concurrency).
import { hostname } from "node:os";
import type { Config } from "../../config/types.ts";
import { createSecretBox } from "../../domain/secret-box.ts";
import { redactDatabaseUrl } from "../../lib/database-url.ts";
import type { OpenedStore, OpenStoreOptions } from "../opened-store.ts";
import { connectPostgresPatiently, migratePgSchema, reportRetries, TOOL_TRIES } from "./connect.ts";
import { checkPgStoredSecrets } from "./secrets.ts";
import { createPostgresStore } from "./store.ts";

/** This process as a lease holder: readable in `leader.holder`, unique per start. */
function replicaName(): string {
  return `${hostname()}:${process.pid}:${crypto.randomUUID().slice(0, 8)}`;
}

export async function openPostgresStore(config: Config, url: string, opts: OpenStoreOptions = {}): Promise<OpenedStore> {
  const tool = opts.purpose === "tool";
  const secrets = createSecretBox(config.security.encryption_key);
  // A CLI command needs a connection or two, not a replica's pool.
  const poolSize = tool ? Math.min(2, config.database.pool_size) : config.database.pool_size;
  const { client, prepared } = await connectPostgresPatiently(
    url,
    poolSize,
    async (c) => {
      const migrated = await migratePgSchema(c);
      // As with SQLite: a database whose encrypted secrets the key cannot read is refused
      // (SecretKeyError) before anything is sent; a CLI tool never reads them.
      const stored = tool ? undefined : await checkPgStoredSecrets(c, secrets);
      return { migrated, stored };
    },
    {
      tries: tool ? TOOL_TRIES : Number.POSITIVE_INFINITY,
      onRetry: reportRetries(url, tool ? undefined : opts.logger),
    },
  );
  const store = createPostgresStore(client, { secrets, replicaId: replicaName() });
  let closing: Promise<void> | undefined;
  return {
    store,
    kind: "postgres",
    location: redactDatabaseUrl(url),
    secretsAtRest: prepared.stored && { ...prepared.stored, keyConfigured: secrets.enabled },
    migrationsApplied: prepared.migrated.applied,
    exposed: [],
    close: () => (closing ??= store.close()),
  };
}

