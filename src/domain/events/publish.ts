import { createHash } from "node:crypto";
import type { DomainDeps } from "../deps.ts";
import { ConflictError, ValidationError } from "../errors.ts";
import { EVENT_TYPE_RE, isOperationalType } from "../event-patterns.ts";
import { newId } from "../../lib/ids.ts";
import { topLevelMemberText } from "../../lib/json-member-span.ts";
import { validateData } from "../../lib/json-schema/validate.ts";
import { dataBody, formatOf, type PayloadFormat } from "../payload-format.ts";
import { type Principal, tenantForCreate } from "../principal.ts";
import { commitAndHandOff } from "./commit.ts";
import { envelope, type PublishedView, renderPublished } from "./render.ts";

export interface PublishInput {
  type?: unknown;
  data?: unknown;
  tenant_id?: string;
  idempotency_key?: unknown;
}

/**
 * The request body's text as received, when known: a type of payload_format "data" sends its
 * `data` member's text unchanged (lib/json-member-span.ts finds it).
 */
export type RawBody = string | undefined;

const KEY_RE = /^[\x21-\x7e]{1,255}$/;

/** JSON with sorted object keys: the same request sent with another key order is the same. */
function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

export interface Published {
  /** 202 for a new event, 200 for an idempotent replay. */
  status: 200 | 202;
  body: PublishedView;
}

/**
 * Validates the event, then commits it with its fan-out deliveries and hands them to the
 * dispatcher (commitAndHandOff); resolves after the commit.
 */
export async function publishEvent(
  deps: Pick<DomainDeps, "store" | "clock" | "config" | "dispatch">,
  principal: Principal,
  input: PublishInput,
  headerKey: string | undefined,
  rawBody?: RawBody,
): Promise<Published> {
  const errors: string[] = [];
  const tenantId = tenantForCreate(principal, input.tenant_id, errors);
  const type = input.type;
  if (typeof type !== "string" || !EVENT_TYPE_RE.test(type)) {
    errors.push("type: must be an event type such as 'member.added'");
  } else if (isOperationalType(type)) {
    errors.push(`type: '${type}' is reserved for Hookline's own events`);
  }
  const data = input.data;
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    errors.push("data: must be a JSON object");
  }
  const bodyKey = input.idempotency_key;
  if (bodyKey !== undefined && (typeof bodyKey !== "string" || !KEY_RE.test(bodyKey))) {
    errors.push("idempotency_key: must be 1 to 255 printable ASCII characters");
  }
  if (headerKey !== undefined && !KEY_RE.test(headerKey)) {
    errors.push("Idempotency-Key: must be 1 to 255 printable ASCII characters");
  }
  if (typeof bodyKey === "string" && headerKey !== undefined && bodyKey !== headerKey) {
    errors.push("idempotency_key: differs from the Idempotency-Key header");
  }
  let format: PayloadFormat = deps.config.delivery.payload_format;
  if (typeof type === "string" && errors.length === 0) {
    const known = await deps.store.getEventType(type);
    if (!known) errors.push(`type: unknown event type '${type}'`);
    else if (known.archived) errors.push(`type: event type '${type}' is archived`);
    else if (known.schema) errors.push(...validateData(type, known.schema, data));
    // The type's format now decides this event's body for good (payload-format.ts).
    if (known) format = formatOf(known, format);
  }
  if (errors.length > 0) throw new ValidationError(errors);

  const key = (headerKey ?? bodyKey ?? null) as string | null;
  const now = deps.clock.now();
  const id = newId("evt", now);
  const event = {
    id,
    tenantId,
    type: type as string,
    payload:
      format === "data"
        ? dataBody(data, rawBody === undefined ? undefined : topLevelMemberText(rawBody, "data"))
        : envelope({ id, type: type as string, tenantId, createdAt: now }, data),
    payloadFormat: format,
    idempotencyKey: key,
    requestHash: key === null ? null : createHash("sha256").update(stableJson({ type, data })).digest("hex"),
    createdAt: now,
  };
  const res = await commitAndHandOff(deps, { event, idempotencySince: now - deps.config.events.idempotency_window }, "publish");
  if (res.kind === "conflict") {
    throw new ConflictError(`Idempotency key '${key}' was already used with a different request.`);
  }
  if (res.kind === "replay") return { status: 200, body: renderPublished(res.event, res.deliveries) };
  return { status: 202, body: renderPublished(res.event, res.deliveries.length) };
}
