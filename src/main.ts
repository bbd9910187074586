#!/usr/bin/env bun
// The entry point, the same under `bun src/main.ts` and in the compiled binary (the writer
// thread has its own: src/db/writer/worker.ts).
import { parseArgs } from "node:util";
import { JwtConfigError, jwtVerifierFor } from "./api/jwt.ts";
import { backupCommand, vacuumCommand } from "./cli/backup.ts";
import { dbCopyCommand } from "./cli/db-copy.ts";
import { doctorCommand } from "./cli/doctor.ts";
import { keysCommand } from "./cli/keys.ts";
import { secretsCommand } from "./cli/secrets.ts";
import { USAGE } from "./cli/usage.ts";
import { ConfigError, loadConfig, resolveConfigPath } from "./config/load.ts";
import type { Config } from "./config/types.ts";
import { migrateDatabase } from "./db/open.ts";
import { migratePostgres } from "./db/pg/connect.ts";
import { redactDatabaseUrl } from "./lib/database-url.ts";
import { startServer } from "./server.ts";
import { StartupError } from "./startup-error.ts";
import { VERSION } from "./version.ts";

/** The store as `config check` names it: the file, or PostgreSQL's URL without its password. */
function describeDatabase(config: Config): string {
  return config.database.url ? `${redactDatabaseUrl(config.database.url)} (PostgreSQL)` : config.database.path;
}

function fail(message: string, code = 2): number {
  process.stderr.write(`${message}\n`);
  return code;
}

async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  function parse() {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: "string", short: "c" },
        tenant: { type: "string" },
        role: { type: "string" },
        name: { type: "string" },
        "expires-in": { type: "string" },
        to: { type: "string" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean", short: "v" },
      },
    });
  }
  try {
    parsed = parse();
  } catch (err) {
    return fail(`${(err as Error).message}\n\n${USAGE}`);
  }
  const { values, positionals } = parsed;
  if (values.version) {
    process.stdout.write(`hookline ${VERSION}\n`);
    return 0;
  }
  const [command, sub, arg] = positionals;
  if (values.help || command === "help") {
    process.stdout.write(USAGE);
    return 0;
  }
  const known = ["serve", "migrate", "keys", "secrets", "config", "healthcheck", "backup", "doctor", "vacuum", "db"];
  if (!command || !known.includes(command) || (command === "config" && sub !== "check") || (command === "db" && sub !== "copy")) {
    return fail(command ? `unknown command: ${positionals.join(" ")}\n\n${USAGE}` : USAGE);
  }

  let config: Config;
  let file: string | undefined;
  try {
    file = resolveConfigPath(values.config, process.env, process.cwd());
    config = loadConfig({ path: file, env: process.env });
  } catch (err) {
    if (err instanceof ConfigError) {
      return fail(`hookline: the configuration is not valid${file ? ` (${file})` : ""}:\n  ${err.problems.join("\n  ")}`);
    }
    throw err;
  }

  // Key material of [auth.jwt] is checked like the rest of the config: before any database.
  if (config.auth.jwt) {
    try {
      jwtVerifierFor(config.auth.jwt);
    } catch (err) {
      if (err instanceof JwtConfigError) return fail(`hookline: the configuration is not valid:\n  ${err.message}`);
      throw err;
    }
  }

  switch (command) {
    case "config":
      // Offline: the configuration only, no connection to the database.
      process.stdout.write(`configuration OK (${file ?? "built-in defaults"}); database: ${describeDatabase(config)}\n`);
      return 0;
    case "migrate": {
      if (config.database.url) {
        const { applied } = await migratePostgres(config.database.url);
        process.stdout.write(`applied ${applied} migration(s) to ${redactDatabaseUrl(config.database.url)}\n`);
        return 0;
      }
      const applied = migrateDatabase(config);
      process.stdout.write(`applied ${applied} migration(s) to ${config.database.path}\n`);
      return 0;
    }
    case "db":
      return dbCopyCommand(config, { to: values.to });
    case "keys":
      return keysCommand(config, {
        action: sub,
        id: arg,
        tenant: values.tenant,
        role: values.role,
        name: values.name,
        expiresIn: values["expires-in"],
      });
    case "secrets":
      return secretsCommand(config, { action: sub });
    case "backup":
      return backupCommand(config, sub);
    case "doctor":
      return doctorCommand(config, file);
    case "vacuum":
      return vacuumCommand(config);
    case "healthcheck": {
      const host = ["0.0.0.0", "::", ""].includes(config.server.host) ? "127.0.0.1" : config.server.host;
      const url = `http://${host.includes(":") ? `[${host}]` : host}:${config.server.port}/healthz`;
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
        return res.ok ? 0 : 1;
      } catch {
        return 1;
      }
    }
    default: {
      let server: Awaited<ReturnType<typeof startServer>> | undefined;
      // Listened for from the start: a replica still waiting for PostgreSQL (or migrating) stops
      // when told to, rather than dying of the signal (exit 143). Nothing is accepted before it
      // listens, and a migration cut short rolls back with its connection.
      const shutdown = async (signal: string) => {
        process.stderr.write(`received ${signal}, ${server ? "shutting down" : "stopping before the server started"}\n`);
        await server?.stop();
        process.exit(0);
      };
      process.once("SIGTERM", () => void shutdown("SIGTERM"));
      process.once("SIGINT", () => void shutdown("SIGINT"));
      server = await startServer(config);
      return -1; // keep running
    }
  }
}

main(Bun.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    // A start refused for a reason the operator fixes (another instance, a file kept): its
    // message says what to do, and the exit code is 2 like a refused configuration.
    if (err instanceof StartupError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(err.exitCode);
    }
    process.stderr.write(`hookline: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
