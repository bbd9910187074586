import { toIso } from "./clock.ts";
import type { DomainDeps } from "./deps.ts";
import { assertValid, ConflictError, NotFoundError, ValidationError } from "./errors.ts";
import { EVENT_TYPE_RE, isReservedTypeName, OPERATIONAL_TYPES, TEST_EVENT_TYPE } from "./event-patterns.ts";
import { schemaProblems } from "../lib/json-schema/validate.ts";
import { type Principal, requireGlobalAdmin } from "./principal.ts";
import { formatOf, isPayloadFormat, type PayloadFormat } from "./payload-format.ts";
import type { EventTypeChanges, EventTypeRecord } from "./store.ts";
import { controlCharsError, hasControlCharacters } from "../lib/text.ts";

export interface EventTypeView {
  name: string;
  description: string;
  schema?: Record<string, unknown>;
  /** The type's own format, else delivery.payload_format (API.md §14). */
  payload_format: PayloadFormat;
  archived: boolean;
  builtin: boolean;
  created_at: string;
}

/**
 * Built in, never stored: sent only by POST /v1/webhooks/{id}/test and by Hookline itself. Always
 * envelopes: their data is Hookline's, and a receiver tells them apart by the body's `type`.
 */
const builtin = (name: string, description: string): EventTypeView => ({
  name,
  description,
  payload_format: "envelope",
  archived: false,
  builtin: true,
  created_at: toIso(0),
});

const BUILTIN: EventTypeView[] = [
  builtin(TEST_EVENT_TYPE, "A test event sent by POST /v1/webhooks/{id}/test."),
  builtin(
    OPERATIONAL_TYPES.webhookDisabled,
    "Hookline disabled a webhook of this tenant (failing for delivery.disable_after, or 410 Gone).",
  ),
  builtin(OPERATIONAL_TYPES.deliveryExhausted, "A delivery failed its last retry and will not be sent again."),
  builtin(OPERATIONAL_TYPES.webhookRecovered, "A webhook that was failing delivered successfully again."),
];
const BUILTIN_NAMES = new Set(BUILTIN.map((b) => b.name));

export function isBuiltinType(name: string): boolean {
  return BUILTIN_NAMES.has(name);
}

export function renderEventType(r: EventTypeRecord, defaultFormat: PayloadFormat): EventTypeView {
  return {
    name: r.name,
    description: r.description,
    ...(r.schema ? { schema: r.schema } : {}),
    payload_format: formatOf(r, defaultFormat),
    archived: r.archived,
    builtin: false,
    created_at: toIso(r.createdAt),
  };
}

export async function listEventTypes(deps: Pick<DomainDeps, "store" | "config">): Promise<EventTypeView[]> {
  const rows = await deps.store.listEventTypes();
  const fallback = deps.config.delivery.payload_format;
  return [...BUILTIN, ...rows.map((r) => renderEventType(r, fallback))];
}

export interface EventTypeInput {
  name?: unknown;
  description?: unknown;
  schema?: unknown;
  payload_format?: unknown;
  archived?: unknown;
}

function checkDescription(v: unknown, errors: string[]): void {
  if (v === undefined) return;
  if (typeof v !== "string") errors.push("description: must be a string");
  else if (v.length > 1000) errors.push("description: must be at most 1000 characters");
  else if (hasControlCharacters(v)) errors.push(controlCharsError("description"));
}

/** PATCH may give null: the type follows delivery.payload_format again. */
function checkFormat(v: unknown, errors: string[], nullable: boolean): void {
  if (v === undefined || (nullable && v === null) || isPayloadFormat(v)) return;
  errors.push(`payload_format: must be one of envelope, data${nullable ? ", or null" : ""}`);
}

function checkSchema(v: unknown, errors: string[]): void {
  if (v === undefined || v === null) return;
  for (const problem of schemaProblems(v)) errors.push(`schema: ${problem}`);
}

export function checkEventTypeName(name: unknown, errors: string[], field = "name"): void {
  if (typeof name !== "string" || !EVENT_TYPE_RE.test(name)) {
    errors.push(`${field}: must look like 'resource.action' (lower-case letters, digits, _ and dots)`);
  } else if (isReservedTypeName(name)) {
    errors.push(`${field}: names starting with 'webhook.' or 'hookline.' are reserved`);
  }
}

export async function createEventType(
  deps: Pick<DomainDeps, "store" | "clock" | "config">,
  principal: Principal,
  input: EventTypeInput,
): Promise<EventTypeView> {
  requireGlobalAdmin(principal);
  const errors: string[] = [];
  checkEventTypeName(input.name, errors);
  checkDescription(input.description, errors);
  checkSchema(input.schema, errors);
  checkFormat(input.payload_format, errors, false);
  assertValid(errors);
  const now = deps.clock.now();
  const record: EventTypeRecord = {
    name: input.name as string,
    description: (input.description as string | undefined) ?? "",
    schema: (input.schema as Record<string, unknown> | null | undefined) ?? null,
    payloadFormat: (input.payload_format as PayloadFormat | undefined) ?? null,
    archived: false,
    createdAt: now,
    updatedAt: now,
  };
  const res = await deps.store.insertEventType(record);
  if (!res.ok) throw new ConflictError(`Event type '${record.name}' already exists.`);
  return renderEventType(record, deps.config.delivery.payload_format);
}

export async function updateEventType(
  deps: Pick<DomainDeps, "store" | "clock" | "config">,
  principal: Principal,
  name: string,
  input: EventTypeInput,
): Promise<EventTypeView> {
  requireGlobalAdmin(principal);
  const errors: string[] = [];
  if (input.name !== undefined && input.name !== name) errors.push("name: cannot be changed");
  checkDescription(input.description, errors);
  checkSchema(input.schema, errors);
  checkFormat(input.payload_format, errors, true);
  if (input.archived !== undefined && typeof input.archived !== "boolean") {
    errors.push("archived: must be a boolean");
  }
  assertValid(errors);
  if (isBuiltinType(name)) throw new ValidationError([`name: '${name}' is built in and cannot be changed`]);
  const changes: EventTypeChanges = {};
  if (input.description !== undefined) changes.description = input.description as string;
  if (input.schema !== undefined) changes.schema = input.schema as Record<string, unknown> | null;
  // Only events published from now on: a stored event keeps the body it was published with.
  if (input.payload_format !== undefined) changes.payloadFormat = input.payload_format as PayloadFormat | null;
  if (input.archived !== undefined) changes.archived = input.archived as boolean;
  const row = await deps.store.updateEventType(name, changes, deps.clock.now());
  if (!row) throw new NotFoundError("Event type");
  return renderEventType(row, deps.config.delivery.payload_format);
}

/** Archiving keeps the type in existing subscriptions but refuses new events of it. */
export async function archiveEventType(
  deps: Pick<DomainDeps, "store" | "clock" | "config">,
  principal: Principal,
  name: string,
): Promise<void> {
  await updateEventType(deps, principal, name, { archived: true });
}

/** Types declared in the config file are created or updated at start. */
export async function upsertDeclaredEventTypes(
  deps: Pick<DomainDeps, "store" | "clock" | "config">,
): Promise<number> {
  const now = deps.clock.now();
  const records = deps.config.event_types.map((d) => ({
    name: d.name,
    description: d.description,
    schema: d.schema ?? null,
    payloadFormat: d.payload_format ?? null,
    archived: false,
    createdAt: now,
    updatedAt: now,
  }));
  await deps.store.upsertEventTypes(records);
  return records.length;
}
