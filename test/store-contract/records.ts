// Builders of the records the suite hands to a store: each call makes a new record with
// defaults that keep it unique (ids, URLs, hashes), so a test states only what it is about.
// Every builder takes its time explicitly; ids embed it, as the domain's ids do.
import { decodeTime } from "ulid";
import { envelope } from "../../src/domain/events/render.ts";
import type {
  ApiKeyRecord,
  AttemptOutcome,
  AttemptResult,
  EventRecord,
  EventTypeRecord,
  WebhookRecord,
} from "../../src/domain/store.ts";
import { newId } from "../../src/lib/ids.ts";

let serial = 0;
const next = () => ++serial;

/**
 * A time later than every id handed out so far in this process, for a test to start from. Ids
 * never go backwards within a process (one monotonic factory for every test file of a run):
 * an id made for an earlier time would carry the newest time instead, and the retention sweeps
 * select events by id. Asking for an id at 1 ms returns one with the newest time used so far.
 */
export function timeAfterIssuedIds(): number {
  return decodeTime(newId("evt", 1).slice("evt_".length)) + 60_000;
}

type With<T, K extends keyof T> = Partial<T> & Pick<T, K>;

export function webhookRecord(f: With<WebhookRecord, "createdAt">): WebhookRecord {
  const n = next();
  return {
    id: newId("wh", f.createdAt),
    tenantId: "acme",
    url: `https://receiver.example/hooks/${n}`,
    events: ["member.added"],
    description: "",
    headers: {},
    secret: `whsec_${String(n).padStart(43, "0")}=`,
    previousSecret: null,
    previousSecretExpiresAt: null,
    enabled: f.enabled ?? true,
    disabledReason: f.enabled === false ? "manual" : null,
    failureCount: 0,
    failingSince: null,
    updatedAt: f.createdAt,
    ...f,
  };
}

/** An event as the publish path makes it: the envelope as payload, a hash only with a key. */
export function eventRecord(
  f: With<EventRecord, "createdAt"> & { data?: Record<string, unknown> },
): EventRecord {
  const { data, ...fields } = f;
  const id = fields.id ?? newId("evt", f.createdAt);
  const type = fields.type ?? "member.added";
  const tenantId = fields.tenantId ?? "acme";
  const idempotencyKey = fields.idempotencyKey ?? null;
  return {
    id,
    tenantId,
    type,
    payload: envelope({ id, type, tenantId, createdAt: f.createdAt }, data ?? { n: next() }),
    payloadFormat: "envelope",
    idempotencyKey,
    requestHash: idempotencyKey === null ? null : `hash-of-${idempotencyKey}`,
    ...fields,
  };
}

export function keyRecord(f: With<ApiKeyRecord, "createdAt">): ApiKeyRecord {
  const n = next();
  return {
    id: newId("key", f.createdAt),
    tenantId: "acme",
    role: "admin",
    name: `key ${n}`,
    prefix: `hl_${String(n).padStart(6, "0")}`,
    hash: `sha256-of-key-${n}`,
    revokedAt: null,
    expiresAt: null,
    kind: "key",
    ...f,
  };
}

export function eventTypeRecord(f: With<EventTypeRecord, "name" | "createdAt">): EventTypeRecord {
  return { description: "", schema: null, payloadFormat: null, archived: false, updatedAt: f.createdAt, ...f };
}

/**
 * The outcome of one attempt of `d` started at `at`, as runAttempt reports it: by default a
 * success answered 200 after 10 ms, the first of its schedule.
 */
export function attemptOutcome(
  d: { id: string; webhookId: string },
  f: {
    at: number;
    result?: AttemptResult;
    statusCode?: number | null;
    error?: string | null;
    durationMs?: number;
    responseBody?: string | null;
    nextAttemptAt?: number | null;
    manual?: boolean;
    retryStartedAt?: number;
  },
): AttemptOutcome {
  const result = f.result ?? "succeeded";
  const failing = result !== "succeeded";
  return {
    deliveryId: d.id,
    webhookId: d.webhookId,
    attempt: {
      startedAt: f.at,
      durationMs: f.durationMs ?? 10,
      statusCode: f.statusCode === undefined ? (failing ? (result === "gone" ? 410 : 500) : 200) : f.statusCode,
      responseBody: f.responseBody ?? null,
      error: f.error ?? null,
    },
    manual: f.manual ?? false,
    result,
    nextAttemptAt: f.nextAttemptAt ?? null,
    retryStartedAt: f.retryStartedAt ?? f.at,
  };
}
