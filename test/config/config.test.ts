import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULTS } from "../../src/config/defaults";
import { formatDuration, parseDuration } from "../../src/lib/duration.ts";
import { ConfigError, loadConfig, resolveConfigPath } from "../../src/config/load";
import type { Config } from "../../src/config/types";
import { configProblems } from "../support/config-problems.ts";

const dir = mkdtempSync(join(tmpdir(), "hookline-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let fileCount = 0;
function writeToml(text: string): string {
  fileCount += 1;
  const path = join(dir, `config-${fileCount}.toml`);
  writeFileSync(path, text);
  return path;
}

function load(toml: string | undefined, env: Record<string, string | undefined> = {}): Config {
  return loadConfig({ path: toml === undefined ? undefined : writeToml(toml), env });
}

const ROOT_KEY = "root-key-0123456789abcdef";
const NOT_DURATIONS = [
  "",
  "15",
  "-5s",
  "1.5h",
  "15 s",
  " 15s",
  "15sec",
  "5w",
  "99999999999999999d",
];

describe("durations", () => {
  test("parses integer + unit", () => {
    expect(parseDuration("500ms")).toBe(500);
    expect(parseDuration("15s")).toBe(15_000);
    expect(parseDuration("5m")).toBe(300_000);
    expect(parseDuration("2h")).toBe(7_200_000);
    expect(parseDuration("5d")).toBe(432_000_000);
    expect(parseDuration("0s")).toBe(0);
  });

  test("refuses anything else", () => {
    for (const bad of NOT_DURATIONS) {
      expect(parseDuration(bad)).toBeUndefined();
    }
  });

  test("formats with the largest exact unit", () => {
    expect(formatDuration(300_000)).toBe("5m");
    expect(formatDuration(1_500)).toBe("1500ms");
    expect(formatDuration(0)).toBe("0s");
    expect(parseDuration(formatDuration(36_000_000))).toBe(36_000_000);
  });
});

describe("loadConfig", () => {
  test("no file and no env gives the built-in defaults", () => {
    const config = load(undefined);
    expect(config).toEqual(DEFAULTS);
    expect(config.delivery.retry_schedule).toEqual([
      5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000,
    ]);
    expect(config.auth.root_key).toBeUndefined();
    expect(config.auth.jwt).toBeUndefined();
  });

  test("the file overrides defaults and leaves other keys alone", () => {
    const config = load(`
[server]
port = 9000
[delivery]
timeout = "30s"
retry_schedule = ["1s", "1m"]
[security]
allow_http = true
`);
    expect(config.server.port).toBe(9000);
    expect(config.server.host).toBe("127.0.0.1");
    expect(config.delivery.timeout).toBe(30_000);
    expect(config.delivery.retry_schedule).toEqual([1_000, 60_000]);
    expect(config.delivery.concurrency).toBe(256);
    expect(config.security.allow_http).toBe(true);
  });

  test("env overrides the file, converting strings to each key's type", () => {
    const config = load(`[server]\nport = 9000\n[log]\nlevel = "warn"\n`, {
      HOOKLINE_SERVER_PORT: "9100",
      HOOKLINE_DELIVERY_RETRY_SCHEDULE: "5s, 1m",
      HOOKLINE_DELIVERY_JITTER: "0.5",
      HOOKLINE_SECURITY_ALLOW_PRIVATE_NETWORKS: "1",
      HOOKLINE_METRICS_REQUIRE_AUTH: "true",
      HOOKLINE_AUTH_JWT_SECRET: "jwt-secret-0123456789abcdef012345",
      HOOKLINE_AUTH_JWT_ALGORITHMS: '["HS256"]',
      HOOKLINE_LOG_FORMAT: "",
      HOOKLINE_CONFIG: "/ignored/here.toml",
      PATH: "/usr/bin",
    });
    expect(config.server.port).toBe(9100);
    expect(config.log.level).toBe("warn");
    expect(config.log.format).toBe("json");
    expect(config.delivery.retry_schedule).toEqual([5_000, 60_000]);
    expect(config.delivery.jitter).toBe(0.5);
    expect(config.security.allow_private_networks).toBe(true);
    expect(config.metrics.require_auth).toBe(true);
    expect(config.auth.jwt).toEqual({
      secret: "jwt-secret-0123456789abcdef012345",
      algorithms: ["HS256"],
      tenant_claim: "org_id",
      role_claim: "role",
      leeway: 30_000,
    });
  });

  test("HOOKLINE_ROOT_KEY beats auth.root_key and HOOKLINE_AUTH_ROOT_KEY", () => {
    const toml = `[auth]\nroot_key = "file-key-0123456789"\n`;
    expect(load(toml).auth.root_key).toBe("file-key-0123456789");
    expect(load(toml, { HOOKLINE_AUTH_ROOT_KEY: "env-long-key-0123456789" }).auth.root_key).toBe(
      "env-long-key-0123456789",
    );
    const both = { HOOKLINE_AUTH_ROOT_KEY: "env-long-key-0123456789", HOOKLINE_ROOT_KEY: ROOT_KEY };
    expect(load(toml, both).auth.root_key).toBe(ROOT_KEY);
  });

  test("a typo'd key names the key and its line", () => {
    const problems = configProblems(`# comment
[server]
port = 8080

[delivery]
timout = "15s"
`);
    expect(problems).toEqual(["delivery.timout: unknown key (line 6)"]);
  });

  test("a bad duration names the key, the value and the line", () => {
    const problems = configProblems(`[delivery]\nconcurrency = 40\ntimeout = "15 sec"\n`);
    expect(problems).toEqual([
      'delivery.timeout: "15 sec" is not a duration; use an integer with ms, s, m, h or d, e.g. "15s" (line 3)',
    ]);
  });

  test("wrong types and ranges are refused", () => {
    expect(configProblems(`[server]\nhost = "0.0.0.0"\nport = "8080"\n`)).toEqual([
      "server.port: must be an integer from 0 to 65535 (line 3)",
    ]);
    expect(configProblems(`[security]\nallow_http = "yes"\n`)).toEqual([
      "security.allow_http: must be true or false (line 2)",
    ]);
    expect(configProblems(`[delivery]\ntimeout = "10m"\n`)).toEqual([
      'delivery.timeout: must be from 100ms to 5m, not "10m" (line 2)',
    ]);
    expect(configProblems(`[database]\nsynchronous = "off"\n`)).toEqual([
      'database.synchronous: must be "full" or "normal", not "off" (line 2)',
    ]);
    expect(configProblems(`server = 5\n`)).toEqual([
      "server: must be a table, written [server] (line 1)",
    ]);
  });

  test("server.memory_soft_limit_mb: 0 turns the guard off, a negative value is refused", () => {
    expect(load(`[server]\nmemory_soft_limit_mb = 0\n`).server.memory_soft_limit_mb).toBe(0);
    expect(load(undefined, { HOOKLINE_SERVER_MEMORY_SOFT_LIMIT_MB: "512" }).server.memory_soft_limit_mb).toBe(512);
    expect(configProblems(`[server]\nmemory_soft_limit_mb = -1\n`)).toEqual([
      "server.memory_soft_limit_mb: must be an integer from 0 to 1048576 MiB (0 turns it off) (line 2)",
    ]);
  });

  test("every problem is reported, not only the first", () => {
    const problems = configProblems(`[server]
port = 70000
max_body_bytes = 10

[delivery]
jitter = 2
retry_schedule = []
sweep = "every minute"
per_webhook_concurrency = 20
concurrency = 10

[signing]
hex_header = "Webhook-Signature"

[auth]
root_key = "short"

[log]
level = "verbose"

[servr]
port = 1
`);
    expect(problems).toEqual([
      "servr: unknown section (line 21)",
      "server.port: must be an integer from 0 to 65535 (line 2)",
      "server.max_body_bytes: must be an integer from 1024 to 67108864 bytes (1 KiB to 64 MiB) (line 3)",
      "auth.root_key: must be at least 16 characters (line 16)",
      "delivery.retry_schedule: must have from 1 to 50 entries, not 0 (line 7)",
      "delivery.jitter: must be a number from 0 to 1 (line 6)",
      expect.stringMatching(
        /^delivery\.sweep: "every minute" is not a valid cron pattern: .+ \(line 8\)$/,
      ),
      expect.stringMatching(/^signing\.hex_header: "Webhook-Signature" is reserved.* \(line 13\)$/),
      'log.level: must be "debug", "info", "warn" or "error", not "verbose" (line 19)',
      "delivery.per_webhook_concurrency: must not exceed delivery.concurrency (10) (line 9)",
    ]);
  });

  test("retry_every and retry_for go together", () => {
    const [problem, ...rest] = configProblems(`[delivery]\nretry_every = "1h"\n`);
    expect(rest).toEqual([]);
    expect(problem).toStartWith("delivery.retry_every: ");
    expect(problem).toContain("delivery.retry_for");
    expect(problem).toEndWith("(line 2)");
    expect(configProblems(`[delivery]\nretry_every = "1h"\nretry_for = "30m"\n`)).toEqual([
      "delivery.retry_for: must be at least delivery.retry_every (1h) (line 3)",
    ]);
    const both = load(`[delivery]\nretry_every = "1h"\nretry_for = "48h"\n`);
    expect([both.delivery.retry_every, both.delivery.retry_for]).toEqual([3_600_000, 172_800_000]);
  });

  test("env problems name the key and say it comes from an environment variable", () => {
    expect(
      configProblems(undefined, { HOOKLINE_SERVER_PROT: "1", HOOKLINE_SERVER_PORT: "http" }),
    ).toEqual([
      "server.port (from environment variable HOOKLINE_SERVER_PORT): must be an integer from 0 to 65535",
      "server.prot (from environment variable HOOKLINE_SERVER_PROT): unknown key",
    ]);
    expect(configProblems(undefined, { HOOKLINE_DELIVERY_RETRY_SCHEDULE: "5s,1 hour" })).toEqual([
      'delivery.retry_schedule[1] (from environment variable HOOKLINE_DELIVERY_RETRY_SCHEDULE): "1 hour" is not a duration; use an integer with ms, s, m, h or d, e.g. "15s"',
    ]);
  });

  // Every path by which an environment variable can be refused, each naming the variable.
  const ENV_PROBLEMS: Array<[string, string, string]> = [
    ["HOOKLINE_SERVER_PORT", "eighty", "server.port (from environment variable HOOKLINE_SERVER_PORT): must be an integer"],
    ["HOOKLINE_LOG_LEVEL", "loud", 'log.level (from environment variable HOOKLINE_LOG_LEVEL): must be "debug"'],
    ["HOOKLINE_METRICS_REQUIRE_AUTH", "yes", "metrics.require_auth (from environment variable HOOKLINE_METRICS_REQUIRE_AUTH): must be true or false"],
    ["HOOKLINE_DELIVERY_RETRY_SCHEDULE", "[5s", "delivery.retry_schedule (from environment variable HOOKLINE_DELIVERY_RETRY_SCHEDULE): is not a valid JSON array"],
    ["HOOKLINE_ROOT_KEY", "short", "auth.root_key (from environment variable HOOKLINE_ROOT_KEY): must be at least 16 characters"],
    ["HOOKLINE_AUTH_ROOT_KEY", "short", "auth.root_key (from environment variable HOOKLINE_AUTH_ROOT_KEY): must be at least 16 characters"],
    ["HOOKLINE_AUTH_JWT_KID", "x", "auth.jwt.kid (from environment variable HOOKLINE_AUTH_JWT_KID): unknown key"],
    ["HOOKLINE_AUTH_JWT", "x", "auth.jwt (from environment variable HOOKLINE_AUTH_JWT): is a table; set its keys one by one (HOOKLINE_AUTH_JWT_<KEY>)"],
    ["HOOKLINE_RATE_LIMIT_PER_HOUR", "5", "rate_limit.per_hour (from environment variable HOOKLINE_RATE_LIMIT_PER_HOUR): unknown key"],
    ["HOOKLINE_EVENT_TYPES", "member.added", "event_types (from environment variable HOOKLINE_EVENT_TYPES): can only be declared in the config file ([[event_types]])"],
  ];
  test.each(ENV_PROBLEMS)("%s=%p is refused, naming the key and the variable", (name, value, start) => {
    const problems = configProblems(undefined, { [name]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toStartWith(start);
  });

  test("HOOKLINE_* names outside a known section are the user's own variables, not settings", () => {
    const config = load(undefined, {
      // The README's own `export HOOKLINE_KEY=$(cat data/initial-admin-key)`.
      HOOKLINE_KEY: "hkl_0123456789abcdef0123456789abcdef0123456789a",
      HOOKLINE_URL: "http://127.0.0.1:8080",
      HOOKLINE_SERVER: "not a key of [server]",
      HOOKLINE_RATE: "5",
      HOOKLINE_: "x",
      HOOKLINE_CONFIG: "/ignored/here.toml",
    });
    expect(config).toEqual(load(undefined));
    // A known section still refuses a typo, beside the user's variables.
    expect(configProblems(undefined, { HOOKLINE_KEY: "x", HOOKLINE_LOG_FROMAT: "pretty" })).toEqual([
      "log.fromat (from environment variable HOOKLINE_LOG_FROMAT): unknown key",
    ]);
  });

  test("[auth.jwt] is typed, defaulted and needs exactly one key source", () => {
    const config = load(`[auth]\njwt.secret = "s3cret-s3cret-s3cret-s3cret-s3cret"\njwt.leeway = "1m"\n`);
    expect(config.auth.jwt).toEqual({
      secret: "s3cret-s3cret-s3cret-s3cret-s3cret",
      tenant_claim: "org_id",
      role_claim: "role",
      leeway: 60_000,
    });
    expect(
      configProblems(`[auth.jwt]\nsecret = "${"a".repeat(32)}"\njwks_file = "b"\nissuer = 5\nkid = "x"\n`),
    ).toEqual([
      "auth.jwt.kid: unknown key (line 5)",
      "auth.jwt.issuer: must be a string (line 4)",
      "auth.jwt: must set exactly one of secret, public_key or jwks_file (found secret and jwks_file) (line 1)",
    ]);
    expect(configProblems(undefined, { HOOKLINE_AUTH_JWT_LEEWAY: "5s" })).toEqual([
      "auth.jwt: must set exactly one of secret, public_key or jwks_file (none is set)",
    ]);
  });

  test("event types are validated", () => {
    const config = load(`
[[event_types]]
name = "member.added"
schema = { type = "object" }

[[event_types]]
name = "invoice.paid"
description = "Paid."
schema = '{"type": "object", "required": ["id"]}'
`);
    expect(config.event_types).toEqual([
      { name: "member.added", description: "", schema: { type: "object" } },
      { name: "invoice.paid", description: "Paid.", schema: { type: "object", required: ["id"] } },
    ]);
    expect(
      configProblems(`[[event_types]]
name = "member.added"

[[event_types]]
name = "Member Added"

[[event_types]]
name = "member.added"
schema = "{not json"

[[event_types]]
name = "webhook.test"
schema = "[1]"
owner = "me"

[[event_types]]
description = "no name"
`),
    ).toEqual([
      'event_types[1].name: "Member Added" must be dot-separated segments of a-z, 0-9 and _, e.g. "member.added" (line 5)',
      'event_types[2].name: "member.added" is already declared by event_types[0] (line 8)',
      expect.stringMatching(/^event_types\[2\]\.schema: is not valid JSON: .+ \(line 9\)$/),
      "event_types[3].owner: unknown key (line 14)",
      'event_types[3].name: "webhook.test" is reserved: names starting with "webhook." belong to Hookline (line 12)',
      'event_types[3].schema: must be a JSON object, e.g. \'{"type": "object"}\' (line 13)',
      "event_types[4].name: is required (line 16)",
    ]);
  });

  test("lines are found for dotted keys, inline tables and list entries", () => {
    const problems = configProblems(`server.port = -1
rate_limit = { per_minute = "x" }
[auth]
root_key = """
timeout = "not a key"
"""
jwt.secret = 5
[delivery]
retry_schedule = [
  "5s",
  "soon",
]
timeout = "1h"
`);
    expect(problems).toEqual([
      "server.port: must be an integer from 0 to 65535 (line 1)",
      "rate_limit.per_minute: must be an integer of 0 or more (line 2)",
      'delivery.timeout: must be from 100ms to 5m, not "1h" (line 13)',
      expect.stringMatching(
        /^delivery\.retry_schedule\[1\]: "soon" is not a duration.* \(line 9\)$/,
      ),
      "auth.jwt.secret: must be a string (line 7)",
    ]);
  });

  test("a TOML syntax error is one problem with line and column", () => {
    const problems = configProblems(`[server]\nport = = 8080\n`);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain("invalid TOML");
    expect(problems[0]).toEndWith("(line 2, column 8)");
  });

  test("config.example.toml loads and equals the defaults plus its event type", () => {
    const config = loadConfig({
      path: join(import.meta.dir, "..", "..", "config.example.toml"),
      env: {},
    });
    const { event_types, ...rest } = config;
    const { event_types: _none, ...defaults } = DEFAULTS;
    expect(rest).toEqual(defaults);
    expect(event_types.map((type) => type.name)).toEqual(["member.added"]);
    expect(event_types[0]?.schema).toMatchObject({ type: "object", required: ["member_id"] });
  });

  test("config.example.toml documents every key of every section", async () => {
    const { SPEC } = await import("../../src/config/schema.ts");
    const text = readFileSync(join(import.meta.dir, "..", "..", "config.example.toml"), "utf8");
    const missing: string[] = [];
    for (const [section, keys] of Object.entries(SPEC)) {
      for (const key of Object.keys(keys)) {
        if (key === "jwt") continue; // the [auth.jwt] table itself
        const re = new RegExp(`^#?\\s*${key}\\s*=`, "m");
        if (!re.test(text)) missing.push(`${section}.${key}`);
      }
    }
    expect(missing).toEqual([]);
  });

  test("the result is deeply frozen and does not freeze the defaults", () => {
    const config = load(`[[event_types]]\nname = "a.b"\nschema = { type = "object" }\n`);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.delivery)).toBe(true);
    expect(Object.isFrozen(config.delivery.retry_schedule)).toBe(true);
    expect(Object.isFrozen(config.event_types[0]?.schema)).toBe(true);
    expect(() => {
      (config.server as { port: number }).port = 1;
    }).toThrow();
    expect(Object.isFrozen(DEFAULTS.delivery.retry_schedule)).toBe(false);
  });
});

describe("resolveConfigPath", () => {
  test("--config wins, then HOOKLINE_CONFIG, then ./hookline.toml, else defaults", () => {
    const cwd = mkdtempSync(join(dir, "cwd-"));
    const explicit = writeToml("");
    const fromEnv = writeToml("");
    expect(resolveConfigPath(undefined, {}, cwd)).toBeUndefined();
    writeFileSync(join(cwd, "hookline.toml"), "");
    expect(resolveConfigPath(undefined, {}, cwd)).toBe(join(cwd, "hookline.toml"));
    expect(resolveConfigPath(undefined, { HOOKLINE_CONFIG: fromEnv }, cwd)).toBe(fromEnv);
    expect(resolveConfigPath(explicit, { HOOKLINE_CONFIG: fromEnv }, cwd)).toBe(explicit);
  });

  test("a named file that does not exist is a ConfigError", () => {
    expect(() => resolveConfigPath("nope.toml", {}, dir)).toThrow(ConfigError);
    expect(() => resolveConfigPath(undefined, { HOOKLINE_CONFIG: "nope.toml" }, dir)).toThrow(
      ConfigError,
    );
  });
});
