// The resolved, validated configuration. Everything outside src/config/ receives this object
// (frozen) and never reads process.env or the TOML file itself.

import type { DurationMs } from "../lib/duration.ts";

/** Milliseconds. Config files spell durations as strings: "500ms", "15s", "5m", "2h", "5d". */
export type { DurationMs };

export type Synchronous = "full" | "normal";
export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFormat = "json" | "pretty";

/**
 * What a receiver's body is (API.md §14): "envelope", the body of §7, or "data", the published
 * `data` object exactly as received.
 */
export type PayloadFormat = "envelope" | "data";

export interface EventTypeDecl {
  name: string;
  description: string;
  /** JSON Schema object, or undefined. In TOML it may be an inline table or a JSON string. */
  schema?: Record<string, unknown>;
  /** Undefined: delivery.payload_format decides. */
  payload_format?: PayloadFormat;
}

export interface JwtConfig {
  secret?: string;
  public_key?: string;
  jwks_file?: string;
  algorithms?: string[];
  issuer?: string;
  audience?: string;
  tenant_claim: string;
  role_claim: string;
  /** "claim value=role" entries mapping an identity provider's roles onto Hookline's. */
  role_map?: string[];
  leeway: DurationMs;
}

export interface Config {
  server: {
    host: string;
    port: number;
    max_body_bytes: number;
    shutdown_grace: DurationMs;
    /** Resident memory (MiB) above which a full garbage collection is forced; 0 = never. */
    memory_soft_limit_mb: number;
    /**
     * Where clients reach this server (https://hooks.example.com, no trailing slash): the base of
     * portal links. Unset: taken from the request that creates the link (api/routes/portal-links.ts).
     */
    public_url?: string;
  };
  database: {
    /** SQLite file path; relative paths are relative to the working directory. */
    path: string;
    synchronous: Synchronous;
    busy_timeout: DurationMs;
    /**
     * postgres:// or postgresql:// URL. When set, PostgreSQL is the store (any number of
     * replicas on one database) and the SQLite keys (path, synchronous, busy_timeout) are unused. It holds a
     * password: show it only through redactDatabaseUrl (src/lib/database-url.ts).
     */
    url?: string;
    /** PostgreSQL connections per replica (with url only). */
    pool_size: number;
  };
  auth: {
    root_key?: string;
    jwt?: JwtConfig;
  };
  rate_limit: {
    /** Requests per minute per credential; burst equals this number. 0 turns the limit off. */
    per_minute: number;
  };
  delivery: {
    timeout: DurationMs;
    concurrency: number;
    per_webhook_concurrency: number;
    retry_schedule: DurationMs[];
    /** When both are set they replace retry_schedule: one attempt every `retry_every` for `retry_for`. */
    retry_every?: DurationMs;
    retry_for?: DurationMs;
    jitter: number;
    disable_after: DurationMs;
    max_response_bytes: number;
    /**
     * The outbound HTTP client: "pool" (keep-alive connections pooled per receiver) or "fetch"
     * (Bun's fetch, whose pool holds 64 idle connections for all receivers together).
     */
    client: "pool" | "fetch";
    /** croner pattern for the retry/recovery sweep. */
    sweep: string;
    /** The payload format of event types that do not name one. */
    payload_format: PayloadFormat;
  };
  signing: {
    hex_header?: string;
    rotation_overlap: DurationMs;
  };
  security: {
    allow_http: boolean;
    allow_private_networks: boolean;
    /** CIDRs allowed even though private (e.g. an internal receiver's subnet). */
    allow_cidrs: string[];
    /** CIDRs refused even though public. Checked first. */
    deny_cidrs: string[];
    /** 32 bytes, base64 or hex: webhook secrets are stored AES-256-GCM encrypted with it. */
    encryption_key?: string;
    max_json_depth: number;
    max_webhooks_per_tenant: number;
    max_events_per_webhook: number;
    max_headers_per_webhook: number;
  };
  events: {
    idempotency_window: DurationMs;
  };
  retention: {
    days: number;
    /** Days after which a finished event's payload is dropped (its log stays); 0: never. */
    payload_days: number;
  };
  metrics: {
    require_auth: boolean;
  };
  log: {
    level: LogLevel;
    format: LogFormat;
  };
  /** The console and the tenant portal (API.md §12). */
  console: {
    /** The portal's title, e.g. the product's name. */
    portal_title: string;
    /** The portal's accent colour, "#rgb" or "#rrggbb". */
    accent_color: string;
    /** Origins allowed to embed the portal in a frame (CSP frame-ancestors); none by default. */
    frame_ancestors: string[];
  };
  event_types: EventTypeDecl[];
}
