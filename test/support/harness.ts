// Factories for tests: a fresh migrated SQLite file per harness, the real Elysia app, and a
// real HTTP server on a loopback port when a test wants sockets. The store is opened as `serve`
// opens it (db/open-store.ts), through `openSqliteStore`: the same open, with the SQLite handles
// (the main connection, the writer) left on for the tests that look at the file or refuse writes.
import type { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createApp } from "../../src/api/app.ts";
import type { ApiDeps } from "../../src/api/deps.ts";
import { DEFAULTS } from "../../src/config/defaults.ts";
import type { Config } from "../../src/config/types.ts";
import { openSqliteStore } from "../../src/db/open-store.ts";
import type { Writer } from "../../src/db/writer/ops.ts";
import type { Dispatcher } from "../../src/delivery/dispatcher.ts";
import type { FetchLike, Sender } from "../../src/delivery/sender.ts";
import type { Clock } from "../../src/domain/clock.ts";
import type { Resolver } from "../../src/domain/destination.ts";
import { createKey } from "../../src/domain/keys.ts";
import type { Role } from "../../src/domain/principal.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { createRuntime, maxRequestBodySize } from "../../src/runtime.ts";

export const ROOT_KEY = "test-root-key-0123456789abcdef";

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

export function testConfig(overrides: DeepPartial<Config> = {}, dbPath = ":memory:"): Config {
  const c = structuredClone(DEFAULTS) as Config;
  for (const [section, values] of Object.entries(overrides)) {
    const target = (c as unknown as Record<string, unknown>)[section];
    if (Array.isArray(values) || typeof target !== "object" || target === null) {
      (c as unknown as Record<string, unknown>)[section] = values;
    } else Object.assign(target, values);
  }
  c.database.path = dbPath;
  c.auth.root_key ??= ROOT_KEY;
  return c;
}

/** Resolves every name to a public documentation-free address unless the test says otherwise. */
export const publicResolver: Resolver = async () => ["93.184.215.14"];

export interface Harness {
  deps: ApiDeps;
  /** Not started unless `autoDispatch`: tests drive it with `dispatchOnce(now)`. */
  dispatcher: Dispatcher;
  /**
   * The store's own main-thread connection (reads, management writes), for tests that inspect the
   * storage; the writer thread has its own. The store's, not a second one: `refuseWrites` must
   * reach the connection the store writes on.
   */
  sqlite: Database;
  app: ReturnType<typeof createApp>;
  dir: string;
  /** The loopback origin the app listens on, e.g. http://127.0.0.1:41234. */
  url: string;
  /** Calls the app over HTTP on a loopback port, with a JSON body and the given key (default root). */
  call(method: string, path: string, opts?: { key?: string | null; body?: unknown; headers?: Record<string, string> }): Promise<Response>;
  key(tenant: string, role: Role): Promise<string>;
  /**
   * Makes every write fail with SQLITE_READONLY (a read-only volume, a full disk), on both
   * connections (this one and the writer thread's), or lets them through again.
   */
  refuseWrites(on: boolean): Promise<void>;
  /** The writer thread (hot-path writes, its own connection). */
  writer: Writer;
  close(): Promise<void>;
}

export async function harness(
  overrides: DeepPartial<Config> = {},
  extra: { clock?: Clock; resolver?: Resolver; fetch?: FetchLike; send?: Sender; autoDispatch?: boolean; random?: () => number; handoffMax?: number } = {},
): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), "hookline-test-"));
  const config = testConfig(overrides, join(dir, "hookline.db"));
  const opened = openSqliteStore(config, { logger: createLogger("silent") });
  const { sqlite, writer } = opened;
  let closed = false;
  const { deps, dispatcher, closeOutbound } = createRuntime(config, opened.store, {
    logger: createLogger("silent"),
    resolver: extra.resolver ?? publicResolver,
    random: extra.random ?? (() => 0.5),
    ...(extra.clock ? { clock: extra.clock } : {}),
    ...(extra.fetch ? { fetch: extra.fetch } : {}),
    ...(extra.send ? { send: extra.send } : {}),
    ...(extra.handoffMax ? { handoffMax: extra.handoffMax } : {}),
  });
  if (extra.autoDispatch) dispatcher.start();
  const app = createApp(deps);
  const http = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    maxRequestBodySize: maxRequestBodySize(config),
    fetch: (req) => app.handle(req),
  });
  return {
    deps,
    dispatcher,
    sqlite,
    app,
    dir,
    url: http.url.origin,
    async call(method, path, opts = {}) {
      const headers: Record<string, string> = { ...opts.headers };
      const key = opts.key === undefined ? ROOT_KEY : opts.key;
      if (key !== null) headers.authorization = `Bearer ${key}`;
      let body: string | undefined;
      if (opts.body !== undefined) {
        body = typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body);
        headers["content-type"] ??= "application/json";
      }
      // Over a real loopback socket, so HTTP parsing and headers are what a client sees.
      return fetch(`${http.url.origin}${path}`, { method, headers, body });
    },
    async key(tenant, role) {
      const created = await createKey(deps, "operator", { tenant_id: tenant, role, name: `${tenant}-${role}` });
      return created.key;
    },
    writer,
    async refuseWrites(on) {
      sqlite.run(`PRAGMA query_only = ${on ? "ON" : "OFF"}`);
      await writer.setQueryOnly(on);
    },
    async close() {
      // Idempotent: a test may close early and the after-each hook closes again.
      if (closed) return;
      closed = true;
      await http.stop(true);
      await dispatcher.stop(0);
      closeOutbound();
      await opened.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
