import { formatDuration } from "../lib/duration.ts";
import type { Config } from "../config/types.ts";
import { DatabaseFileError } from "../db/backup.ts";
import { type DoctorReport, inspectDatabase } from "../db/doctor.ts";
import { connectPostgresPatiently, reportRetries } from "../db/pg/connect.ts";
import { type DoctorCounts, inspectPostgres, type PgDoctorReport, readOnlySnapshot } from "../db/pg/doctor.ts";
import { HOUSEKEEPING_LEASE } from "../delivery/sweep.ts";
import { redactDatabaseUrl } from "../lib/database-url.ts";
import { StartupError } from "../startup-error.ts";
import { formatMB } from "./progress.ts";

/** An approximate, human span: "3d 4h", "2h 5m", "4m 10s", "12s", "250ms". */
export function formatSpan(ms: number): string {
  const abs = Math.abs(Math.round(ms));
  if (abs < 1000) return `${abs}ms`;
  const s = Math.floor(abs / 1000);
  const [d, h, m, sec] = [Math.floor(s / 86_400), Math.floor(s / 3600) % 24, Math.floor(s / 60) % 60, s % 60];
  if (d > 0) return h > 0 ? `${d}d ${h}h` : `${d}d`;
  if (h > 0) return m > 0 ? `${h}h ${m}m` : `${h}h`;
  if (m > 0) return sec > 0 ? `${m}m ${sec}s` : `${m}m`;
  return `${sec}s`;
}

function when(at: number, now: number): string {
  const iso = new Date(at).toISOString();
  if (at <= now) return `${iso} (due ${formatSpan(now - at)} ago)`;
  return `${iso} (in ${formatSpan(at - now)})`;
}

function bytes(n: number): string {
  return `${formatMB(n)} (${n} bytes)`;
}

function sqliteLines(r: DoctorReport): string[] {
  return [
    `database: ${r.path}`,
    `file size: ${bytes(r.fileBytes)}`,
    `wal size: ${bytes(r.walBytes)}`,
    `pages: ${r.pageCount} of ${r.pageSize} bytes, ${r.freePages} free`,
    `sqlite version: ${r.sqliteVersion}`,
    `journal mode: ${r.journalMode}`,
  ];
}

function postgresLines(r: PgDoctorReport): string[] {
  const h = r.housekeeping;
  const lease =
    h === null
      ? "no replica yet"
      : h.expiresAt > r.now
        ? `${h.holder} (lease for ${formatSpan(h.expiresAt - r.now)} more)`
        : `nobody (${h.holder}'s lease ran out ${formatSpan(r.now - h.expiresAt)} ago)`;
  return [
    `database: ${r.database} (PostgreSQL)`,
    `postgresql version: ${r.serverVersion}`,
    `database size: ${bytes(r.databaseBytes)}`,
    `housekeeping: ${lease}`,
  ];
}

function contentLines(r: DoctorCounts, now: number): string[] {
  const lines: string[] = [];
  const m = r.migrations;
  const state =
    m.pending.length > 0
      ? `${m.pending.length} pending (${m.pending.join(", ")}): run hookline migrate or start the server`
      : "up to date";
  lines.push(`migrations: ${m.applied} applied of ${m.known} known, latest ${m.latest ?? "none"}; ${state}`);
  const missing = "n/a (table missing)";
  if (r.webhooks) {
    const reasons = Object.entries(r.webhooks.disabledReasons)
      .map(([reason, n]) => `${reason} ${n}`)
      .join(", ");
    lines.push(`webhooks: ${r.webhooks.enabled} enabled, ${r.webhooks.disabled} disabled${reasons ? ` (${reasons})` : ""}`);
  } else {
    lines.push(`webhooks: ${missing}`);
  }
  lines.push(r.secrets ? `webhook secrets: ${r.secrets.encrypted} encrypted, ${r.secrets.plaintext} plaintext` : `webhook secrets: ${missing}`);
  lines.push(
    r.keys ? `api keys: ${r.keys.active} active, ${r.keys.expired} expired, ${r.keys.revoked} revoked` : `api keys: ${missing}`,
  );
  lines.push(`events: ${r.events ?? missing}`);
  if (r.deliveries) {
    const d = r.deliveries;
    lines.push(`deliveries: pending ${d.pending}, delivering ${d.delivering}, succeeded ${d.succeeded}, failed ${d.failed}`);
  } else {
    lines.push(`deliveries: ${missing}`);
  }
  if (r.oldestPending) {
    const o = r.oldestPending;
    const next = o.nextAttemptAt === null ? "none scheduled" : when(o.nextAttemptAt, now);
    lines.push(`oldest pending delivery: ${o.id}, age ${formatSpan(now - o.createdAt)}, next attempt ${next}`);
  } else {
    lines.push("oldest pending delivery: none");
  }
  lines.push(`next due attempt: ${r.nextDueAt === null ? "none" : when(r.nextDueAt, now)}`);
  lines.push(r.leases ? `leases: ${r.leases.held} held (delivering), ${r.leases.expired} expired` : `leases: ${missing}`);
  return lines;
}

/** Settings only: never a key, secret or token value (root_key, encryption_key, jwt secret). */
function configLines(config: Config, file: string | undefined): string[] {
  const d = config.delivery;
  const retry =
    d.retry_every !== undefined && d.retry_for !== undefined
      ? `every ${formatDuration(d.retry_every)} for ${formatDuration(d.retry_for)}`
      : `schedule ${d.retry_schedule.map(formatDuration).join(", ")} (${d.retry_schedule.length + 1} attempts)`;
  const s = config.security;
  const onOff = (b: boolean) => (b ? "on" : "off");
  const host = config.server.host.includes(":") ? `[${config.server.host}]` : config.server.host;
  return [
    `config: ${file ?? "built-in defaults"}`,
    `listen: ${host}:${config.server.port}`,
    config.database.url
      ? `database.pool_size: ${config.database.pool_size} connections per replica`
      : `database.synchronous: ${config.database.synchronous}, busy_timeout ${formatDuration(config.database.busy_timeout)}`,
    `retry policy: ${retry}, jitter ${Math.round(d.jitter * 100)}%, timeout ${formatDuration(d.timeout)}, disable after ${formatDuration(d.disable_after)}`,
    `delivery concurrency: ${d.concurrency} total, ${d.per_webhook_concurrency} per webhook`,
    `rate limit: ${config.rate_limit.per_minute === 0 ? "off" : `${config.rate_limit.per_minute}/min per credential`}`,
    `security: allow_http ${s.allow_http}, allow_private_networks ${s.allow_private_networks}, allow_cidrs ${s.allow_cidrs.length}, deny_cidrs ${s.deny_cidrs.length}, encryption ${onOff(s.encryption_key !== undefined)}`,
    `auth: root key ${config.auth.root_key !== undefined ? "set" : "not set"}, jwt ${onOff(config.auth.jwt !== undefined)}`,
    `retention: ${config.retention.days} days`,
  ];
}

/** `hookline doctor`: a read-only report on the database and the configuration. */
export async function doctorCommand(config: Config, file: string | undefined): Promise<number> {
  if (config.database.url) return doctorPostgres(config, config.database.url, file);
  const now = Date.now();
  let report: DoctorReport;
  try {
    report = inspectDatabase(config.database.path, { now, busyTimeoutMs: config.database.busy_timeout });
  } catch (err) {
    if (err instanceof DatabaseFileError) {
      process.stderr.write(`hookline doctor: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  process.stdout.write(`${[...sqliteLines(report), ...contentLines(report, now), ...configLines(config, file)].join("\n")}\n`);
  return 0;
}

/**
 * The PostgreSQL report: never the URL's password. Unreachable after a few tries, or refused:
 * exit 1 with the reason (a StartupError from the connect, which main prints).
 */
async function doctorPostgres(config: Config, url: string, file: string | undefined): Promise<number> {
  const database = redactDatabaseUrl(url);
  const { client, prepared: report } = await connectPostgresPatiently(
    url,
    1,
    (c) => readOnlySnapshot(c, (tx) => inspectPostgres(tx, database, HOUSEKEEPING_LEASE)),
    { onRetry: reportRetries(url) },
  ).catch((err: unknown) => {
    if (err instanceof StartupError) throw new StartupError(err.message, 1);
    throw err;
  });
  await client.close();
  process.stdout.write(`${[...postgresLines(report), ...contentLines(report, report.now), ...configLines(config, file)].join("\n")}\n`);
  return 0;
}
