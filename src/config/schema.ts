// One table describes every key: validation, env conversion and the unknown-key check all read
// it, so adding a setting is one line here plus its default. The mapped types make the compiler
// refuse a table that drifts from the Config interface.
import { Cron } from "croner";
import ipaddr from "ipaddr.js";
import { databaseUrlProblem } from "../lib/database-url.ts";
import { HEADER_NAME_RE, isReservedHeaderName } from "../lib/header-names.ts";
import type { Config, JwtConfig } from "./types";

export type Kind =
  | { type: "string"; check?: (value: string) => string | undefined }
  | { type: "integer"; min: number; max?: number; hint?: string }
  | { type: "number"; min: number; max: number }
  | { type: "boolean" }
  | { type: "duration"; min?: number; max?: number }
  | { type: "durations"; maxItems: number }
  | { type: "enum"; values: readonly string[] }
  | { type: "strings"; check?: (value: string) => string | undefined }
  /** A sub-table (auth.jwt) described by its own section entry. */
  | { type: "table" };

type Section = Exclude<keyof Config, "event_types">;
type KeysOf<T> = { [K in keyof Required<T>]: Kind };
type Spec = { [S in Section]: KeysOf<Config[S]> } & { "auth.jwt": KeysOf<JwtConfig> };

const KIB = 1024;
const MIB = 1024 * KIB;

function checkHeaderName(name: string): string | undefined {
  if (!HEADER_NAME_RE.test(name)) return `"${name}" is not a valid HTTP header name`;
  if (isReservedHeaderName(name)) {
    return `"${name}" is reserved; choose another header name such as "X-Signature"`;
  }
  return undefined;
}

function checkCron(pattern: string): string | undefined {
  try {
    new Cron(pattern, { paused: true }).stop();
    return undefined;
  } catch (error) {
    const reason = error instanceof Error ? error.message.replace(/^CronPattern: /, "") : "";
    return `"${pattern}" is not a valid cron pattern: ${reason}`;
  }
}

// Never echo the key itself: config errors end up in logs.
function checkRootKey(key: string): string | undefined {
  return key.length < 16 ? "must be at least 16 characters" : undefined;
}

// RFC 7518 §3.2: an HMAC key at least as long as the hash (32 bytes for HS256). A shorter,
// typically human-chosen secret can be brute-forced offline from one captured token, and then
// anyone can sign tokens for any tenant. Never echo the secret.
export const MIN_JWT_SECRET_BYTES = 32;

function checkJwtSecret(secret: string): string | undefined {
  return Buffer.byteLength(secret, "utf8") < MIN_JWT_SECRET_BYTES
    ? `must be at least ${MIN_JWT_SECRET_BYTES} bytes; generate one with: openssl rand -base64 32`
    : undefined;
}

function checkAlgorithm(name: string): string | undefined {
  return name.toLowerCase() === "none" ? `"none" is not allowed` : undefined;
}

function checkCidr(value: string): string | undefined {
  try {
    ipaddr.parseCIDR(value);
    return undefined;
  } catch {
    return `"${value}" is not a CIDR such as "10.1.0.0/16" or "fd00::/8"`;
  }
}

// Never echo the key itself.
function checkEncryptionKey(key: string): string | undefined {
  const bytes = /^[0-9a-fA-F]{64}$/.test(key)
    ? 32
    : /^[A-Za-z0-9+/_-]{43}=?$/.test(key)
      ? Buffer.from(key, "base64").length
      : 0;
  return bytes === 32 ? undefined : "must be 32 random bytes as base64 (44 characters) or hex (64 characters)";
}

function checkRoleMapping(entry: string): string | undefined {
  return /^[^=]+=(viewer|publisher|admin)$/.test(entry)
    ? undefined
    : `"${entry}" must look like "<claim value>=<viewer|publisher|admin>"`;
}

// The base of portal links: an origin, optionally with a path (a server behind a prefix).
function checkPublicUrl(value: string): string | undefined {
  const help = "must be an absolute http or https URL such as \"https://hooks.example.com\", without a query or fragment";
  if (!/^https?:\/\/[^/?#\s]+(\/[^?#\s]*)?$/i.test(value)) return help;
  try {
    const url = new URL(value);
    return url.username !== "" || url.password !== "" ? `${help} or credentials` : undefined;
  } catch {
    return help;
  }
}

function checkColour(value: string): string | undefined {
  return /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.test(value) ? undefined : `"${value}" is not a hex colour such as "#4f46e5"`;
}

// Printed as the portal's title: plain text, one line.
function checkTitle(value: string): string | undefined {
  if (value.length === 0 || value.length > 100) return "must be 1 to 100 characters";
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  return /[\u0000-\u001f\u007f]/.test(value) ? "must not contain control characters" : undefined;
}

// Goes into a Content-Security-Policy header: a scheme and host (a "*." subdomain wildcard
// allowed, as CSP has it) and an optional port, nothing that could end the directive.
function checkOrigin(value: string): string | undefined {
  return /^https?:\/\/(\*\.)?([a-z0-9-]+\.)*[a-z0-9-]+(:\d{1,5})?$/i.test(value) || /^https?:\/\/\[[0-9a-f:.]+\](:\d{1,5})?$/i.test(value)
    ? undefined
    : `"${value}" is not an origin such as "https://app.example.com" (scheme, host and optional port; no path)`;
}

const str: Kind = { type: "string" };
const duration: Kind = { type: "duration" };
const bool: Kind = { type: "boolean" };

export const SPEC: Spec = {
  server: {
    host: str,
    port: { type: "integer", min: 0, max: 65_535 },
    max_body_bytes: { type: "integer", min: KIB, max: 64 * MIB, hint: "bytes (1 KiB to 64 MiB)" },
    shutdown_grace: duration,
    memory_soft_limit_mb: { type: "integer", min: 0, max: 1_048_576, hint: "MiB (0 turns it off)" },
    public_url: { type: "string", check: checkPublicUrl },
  },
  database: {
    path: str,
    synchronous: { type: "enum", values: ["full", "normal"] },
    busy_timeout: duration,
    url: { type: "string", check: databaseUrlProblem },
    pool_size: { type: "integer", min: 1, max: 1_000, hint: "connections per replica" },
  },
  auth: {
    root_key: { type: "string", check: checkRootKey },
    jwt: { type: "table" },
  },
  "auth.jwt": {
    secret: { type: "string", check: checkJwtSecret },
    public_key: str,
    jwks_file: str,
    algorithms: { type: "strings", check: checkAlgorithm },
    issuer: str,
    audience: str,
    tenant_claim: str,
    role_claim: str,
    role_map: { type: "strings", check: checkRoleMapping },
    leeway: duration,
  },
  rate_limit: {
    per_minute: { type: "integer", min: 0 },
  },
  delivery: {
    timeout: { type: "duration", min: 100, max: 5 * 60_000 },
    concurrency: { type: "integer", min: 1, max: 10_000 },
    per_webhook_concurrency: { type: "integer", min: 1, max: 1_000 },
    retry_schedule: { type: "durations", maxItems: 50 },
    // A zero interval would retry in a tight loop.
    retry_every: { type: "duration", min: 1 },
    retry_for: duration,
    jitter: { type: "number", min: 0, max: 1 },
    disable_after: duration,
    max_response_bytes: { type: "integer", min: 0, max: MIB, hint: "bytes (0 to 1 MiB)" },
    client: { type: "enum", values: ["pool", "fetch"] },
    sweep: { type: "string", check: checkCron },
    payload_format: { type: "enum", values: ["envelope", "data"] },
  },
  signing: {
    hex_header: { type: "string", check: checkHeaderName },
    rotation_overlap: duration,
  },
  security: {
    allow_http: bool,
    allow_private_networks: bool,
    allow_cidrs: { type: "strings", check: checkCidr },
    deny_cidrs: { type: "strings", check: checkCidr },
    encryption_key: { type: "string", check: checkEncryptionKey },
    max_json_depth: { type: "integer", min: 2, max: 1_000 },
    max_webhooks_per_tenant: { type: "integer", min: 1 },
    max_events_per_webhook: { type: "integer", min: 1, max: 1_000 },
    max_headers_per_webhook: { type: "integer", min: 0, max: 100 },
  },
  events: {
    idempotency_window: duration,
  },
  retention: {
    days: { type: "integer", min: 0 },
    payload_days: { type: "integer", min: 0 },
  },
  metrics: {
    require_auth: bool,
  },
  log: {
    level: { type: "enum", values: ["debug", "info", "warn", "error"] },
    format: { type: "enum", values: ["json", "pretty"] },
  },
  console: {
    portal_title: { type: "string", check: checkTitle },
    accent_color: { type: "string", check: checkColour },
    frame_ancestors: { type: "strings", check: checkOrigin },
  },
};

export type SectionName = keyof Spec;

/** Sections in file order of the example config; "auth.jwt" is nested under "auth". */
export const SECTION_NAMES = Object.keys(SPEC) as SectionName[];

export function keysOf(section: SectionName): Array<[string, Kind]> {
  return Object.entries(SPEC[section] as Record<string, Kind>);
}

/** HOOKLINE_<SECTION>_<KEY>, with the dots of nested sections as underscores. */
export function envName(path: string): string {
  return `HOOKLINE_${path.replaceAll(".", "_").toUpperCase()}`;
}
