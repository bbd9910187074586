import type { Config, JwtConfig } from "./types";

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** What Hookline runs with when neither the config file nor HOOKLINE_* says otherwise. */
export const DEFAULTS: Config = {
  server: {
    // Loopback until the operator decides to expose it (usually behind a proxy).
    host: "127.0.0.1",
    port: 8080,
    max_body_bytes: 262_144,
    shutdown_grace: 10 * SECOND,
    // Busy servers sit at 150–200 MiB; above this the heap is mostly garbage (see memory-guard).
    memory_soft_limit_mb: 192,
  },
  database: {
    path: "./data/hookline.db",
    // FULL so an accepted event (202) survives a power loss.
    synchronous: "full",
    busy_timeout: 5 * SECOND,
    // Per replica, used only with url: replicas × pool_size (plus other clients) must stay
    // under the PostgreSQL server's max_connections, 100 by default.
    pool_size: 10,
  },
  auth: {},
  rate_limit: { per_minute: 6_000 },
  delivery: {
    timeout: 15 * SECOND,
    concurrency: 256,
    per_webhook_concurrency: 32,
    retry_schedule: [5 * SECOND, 5 * MINUTE, 30 * MINUTE, 2 * HOUR, 5 * HOUR, 10 * HOUR, 10 * HOUR],
    jitter: 0.1,
    disable_after: 5 * DAY,
    max_response_bytes: 4_096,
    client: "pool",
    sweep: "*/5 * * * * *",
    payload_format: "envelope",
  },
  signing: { rotation_overlap: 24 * HOUR },
  security: {
    allow_http: false,
    allow_private_networks: false,
    allow_cidrs: [],
    deny_cidrs: [],
    max_json_depth: 32,
    max_webhooks_per_tenant: 1000,
    max_events_per_webhook: 100,
    max_headers_per_webhook: 20,
  },
  events: { idempotency_window: 24 * HOUR },
  retention: { days: 30, payload_days: 0 },
  metrics: { require_auth: false },
  log: { level: "info", format: "json" },
  console: { portal_title: "Webhooks", accent_color: "#4f46e5", frame_ancestors: [] },
  event_types: [],
};

/** Applied only when [auth.jwt] is present: JWT auth is off unless a key source is configured. */
export const JWT_DEFAULTS: Pick<JwtConfig, "tenant_claim" | "role_claim" | "leeway"> = {
  tenant_claim: "org_id",
  role_claim: "role",
  leeway: 30 * SECOND,
};
