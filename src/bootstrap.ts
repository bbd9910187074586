import { writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { Config } from "./config/types.ts";
import type { Clock } from "./domain/clock.ts";
import { createKey } from "./domain/keys.ts";
import type { Store } from "./domain/store.ts";
import type { Logger } from "./observability/logger.ts";

export const INITIAL_KEY_FILE = "initial-admin-key";

/**
 * First start without a root key: nobody could call the API. Mint one global admin key and
 * write it to a file only the owner can read, beside the database; the log names the file,
 * never the key. Runs only while no active key exists, so it happens once.
 */
export async function ensureAdminAccess(
  deps: { store: Store; clock: Clock; config: Config; logger: Logger },
): Promise<string | undefined> {
  const { config, store, logger } = deps;
  if (config.auth.root_key !== undefined) return undefined;
  if ((await store.countActiveKeys()) > 0) return undefined;
  const created = await createKey(deps, "operator", { tenant_id: "*", role: "admin", name: "initial admin" });
  const dir = config.database.path === ":memory:" ? process.cwd() : dirname(resolve(config.database.path));
  const file = join(dir, INITIAL_KEY_FILE);
  writeFileSync(file, `${created.key}\n`, { mode: 0o600 });
  logger.warn(
    { key_id: created.id, file },
    "no root key is configured and no API key exists: created a global admin key and wrote it to this file (readable by its owner only). Read it, store it safely, then delete the file.",
  );
  return file;
}
