import { parseDuration } from "../lib/duration.ts";
import type { Config } from "../config/types.ts";
import { openStore } from "../db/open-store.ts";
import { systemClock, toIso } from "../domain/clock.ts";
import { DomainError } from "../domain/errors.ts";
import { createKey, renderKey, revokeKey } from "../domain/keys.ts";
import { quoteText } from "../observability/quote.ts";

export interface KeysArgs {
  action: string | undefined;
  id: string | undefined;
  tenant: string | undefined;
  role: string | undefined;
  name: string | undefined;
  /** A duration such as "30d" (ms|s|m|h|d), turned into the key's expires_at. */
  expiresIn?: string | undefined;
}

/** `hookline keys …`: works beside a running server (WAL; revocations are seen on the next request). */
export async function keysCommand(config: Config, args: KeysArgs): Promise<number> {
  // As a tool beside the server: migrated, no writer thread, webhook secrets never read.
  const opened = await openStore(config, { purpose: "tool" });
  const { store } = opened;
  const deps = { store, clock: systemClock };
  try {
    switch (args.action) {
      case "create": {
        let expiresAt: string | undefined;
        if (args.expiresIn !== undefined) {
          const ms = parseDuration(args.expiresIn);
          if (ms === undefined || ms <= 0) {
            process.stderr.write(`--expires-in: "${args.expiresIn}" must be a duration such as 12h or 30d\n`);
            return 2;
          }
          expiresAt = toIso(deps.clock.now() + ms);
        }
        const k = await createKey(deps, "operator", {
          tenant_id: args.tenant,
          role: args.role,
          name: args.name ?? "",
          ...(expiresAt !== undefined ? { expires_at: expiresAt } : {}),
        });
        const until = k.expires_at === null ? "" : `, expires ${k.expires_at}`;
        process.stderr.write(
          `created key ${k.id} (tenant ${k.tenant_id}, role ${k.role}${until}); the key is shown only once; revoke it with: hookline keys revoke ${k.id}\n`,
        );
        // One line, id then key, tab-separated like `keys list`: `read -r id key` takes both,
        // `cut -f2` the key alone. The id is what `keys revoke` needs later.
        process.stdout.write(`${k.id}\t${k.key}\n`);
        return 0;
      }
      case "list": {
        let before: string | undefined;
        const rows = [];
        for (;;) {
          const page = await store.listKeys({ limit: 100, ...(before ? { before } : {}) });
          rows.push(...page.slice(0, 100));
          if (page.length <= 100) break;
          before = page[99]?.id;
        }
        for (const k of rows.map(renderKey)) {
          // Expiry before the name, which is free text and stays last.
          const expiry = k.expires_at ?? "-";
          // Names are free text; one stored before control characters were refused could
          // otherwise forge columns or lines here.
          const name = quoteText(k.name);
          process.stdout.write(`${k.id}\t${k.tenant_id}\t${k.role}\t${k.prefix}…\t${k.created_at}\t${expiry}\t${name}\n`);
        }
        return 0;
      }
      case "revoke": {
        if (!args.id) {
          process.stderr.write("usage: hookline keys revoke ID\n");
          return 2;
        }
        await revokeKey(deps, "operator", args.id);
        process.stderr.write(`revoked ${args.id}\n`);
        return 0;
      }
      default:
        process.stderr.write("usage: hookline keys create|list|revoke (see hookline --help)\n");
        return 2;
    }
  } catch (err) {
    if (err instanceof DomainError) {
      process.stderr.write(`${err.message}\n${(err.errors ?? []).map((e) => `  ${e}\n`).join("")}`);
      return 2;
    }
    throw err;
  } finally {
    await opened.close();
  }
}
