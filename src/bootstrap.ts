import { closeSync, fchmodSync, fsyncSync, openSync, unlinkSync, writeSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { Config } from "./config/types.ts";
import { FILE_MODE } from "./db/files.ts";
import type { Clock } from "./domain/clock.ts";
import { createKey } from "./domain/keys.ts";
import type { Store } from "./domain/store.ts";
import type { Logger } from "./observability/logger.ts";
import { StartupError } from "./startup-error.ts";

export const INITIAL_KEY_FILE = "initial-admin-key";

/**
 * First start without a root key: nobody could call the API. Mint one global admin key and
 * write it to a file only the owner can read, beside the database; the log names the file,
 * never the key. Runs only while no active key exists, so it happens once. SQLite only: on
 * PostgreSQL it says how to make the first key instead (below).
 *
 * The file is created exclusively (O_EXCL, 0600 whatever the umask) before the key exists. One
 * already there is never overwritten: it is a key someone may still need (from an earlier
 * first start whose keys were since revoked, or another database), or something planted there
 * (a link to another file). Starting anyway would leave a server whose only key nobody can
 * read, so the start is refused with what to do; nothing is written to the database.
 */
export async function ensureAdminAccess(
  deps: { store: Store; clock: Clock; config: Config; logger: Logger },
): Promise<string | undefined> {
  const { config, store, logger } = deps;
  if (config.auth.root_key !== undefined) return undefined;
  if ((await store.countActiveKeys()) > 0) return undefined;
  if (config.database.url) {
    // PostgreSQL: no key is minted. Replicas usually run in containers whose files nobody reads,
    // several starting together would each mint one (into as many files), and a key printed to
    // the log would be a credential in every log store. The first key is the operator's to make,
    // with the CLI against the same database; meanwhile the API answers 401 and the rest runs.
    logger.warn(
      "no root key is configured and no API key exists: with PostgreSQL no first key is created for you; create one with `hookline keys create --tenant '*' --role admin` (with the same database.url), or set auth.root_key (HOOKLINE_ROOT_KEY)",
    );
    return undefined;
  }
  const dir = config.database.path === ":memory:" ? process.cwd() : dirname(resolve(config.database.path));
  const file = join(dir, INITIAL_KEY_FILE);
  const fd = openExclusive(file);
  let keyId: string | undefined;
  try {
    fchmodSync(fd, FILE_MODE);
    const created = await createKey(deps, "operator", { tenant_id: "*", role: "admin", name: "initial admin" });
    keyId = created.id;
    writeSync(fd, `${created.key}\n`);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    // No half-made first access: a key nobody can read would stop the next start from minting one.
    if (keyId !== undefined) await store.revokeKey(keyId, deps.clock.now()).catch(() => false);
    unlinkSync(file);
    throw err;
  }
  closeSync(fd);
  logger.warn(
    { key_id: keyId, file },
    "no root key is configured and no API key exists: created a global admin key and wrote it to this file (readable by its owner only). Read it, store it safely, then delete the file.",
  );
  return file;
}

function openExclusive(file: string): number {
  try {
    return openSync(file, "wx", FILE_MODE);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    throw new StartupError(
      `hookline: no root key is configured and no API key is active, so Hookline would create a first admin key in ${file}, but that file already exists; it was not overwritten and nothing was started. ` +
        "If you still need the key in it, keep it (it only works with the database it was made for), then delete the file and start again; " +
        "or set auth.root_key (HOOKLINE_ROOT_KEY), or create a key with `hookline keys create --tenant '*' --role admin`.",
    );
  }
}
