import type { DomainDeps } from "../deps.ts";
import { assertValid, ConflictError, NotFoundError } from "../errors.ts";
import type { Principal } from "../principal.ts";
import type { WebhookChanges, WebhookRecord } from "../store.ts";
import { loadWebhook } from "./read.ts";
import { disabledError, renderWebhook, type WebhookView } from "./render.ts";
import { maskValue } from "./secret-headers.ts";
import { type MaskedHeader, validateWebhookInput, type WebhookInput } from "./validate.ts";

export async function updateWebhook(
  deps: DomainDeps,
  principal: Principal,
  id: string,
  input: WebhookInput,
): Promise<WebhookView> {
  // Body problems (422) are reported before a missing webhook (404), as API.md §10 orders them.
  const { errors, fields } = await validateWebhookInput(deps, input, "update");
  assertValid(errors);
  const current = await loadWebhook(deps, principal, id);
  const changes: WebhookChanges = {};
  if (fields.url !== undefined) changes.url = fields.url;
  if (fields.events !== undefined) changes.events = fields.events;
  if (fields.description !== undefined) changes.description = fields.description;
  if (fields.headers !== undefined) changes.headers = keepMasked(fields.headers, fields.maskedHeaders ?? [], current);
  let failReason: string | undefined;
  if (fields.enabled === true && !current.enabled) {
    // Re-enabling is a fresh start: the failure streak is forgotten (failed deliveries are
    // not revived; that is what recover is for).
    Object.assign(changes, { enabled: true, disabledReason: null, failureCount: 0, failingSince: null });
  } else if (fields.enabled === false && current.enabled) {
    Object.assign(changes, { enabled: false, disabledReason: "manual" });
    failReason = disabledError("manual");
  }
  const res = await deps.store.updateWebhook(current.id, changes, deps.clock.now(), failReason);
  if (res === "duplicate") throw new ConflictError(`A webhook for ${changes.url} already exists in this tenant.`);
  if (!res) throw new NotFoundError("Webhook");
  return renderWebhook(res);
}

/**
 * A PATCH replaces the headers. A secret value sent back as GET showed it (`Bea…(masked)`) keeps
 * the stored value, so a client can read, change and write back the object; a masked value that
 * is not the mask of the stored one (another header, a changed value) is refused rather than
 * guessed at. Checked after the webhook is found: it depends on what is stored.
 */
function keepMasked(
  headers: Record<string, string>,
  masked: MaskedHeader[],
  current: WebhookRecord,
): Record<string, string> {
  if (masked.length === 0) return headers;
  const out = new Map(Object.entries(headers));
  const errors: string[] = [];
  for (const m of masked) {
    const stored = Object.hasOwn(current.headers, m.name) ? current.headers[m.name] : undefined;
    if (stored !== undefined && maskValue(stored) === m.sent) out.set(m.name, stored);
    else errors.push(`${m.at}: is a masked value that does not match the stored one; send the real value`);
  }
  assertValid(errors);
  return Object.fromEntries(out);
}

export async function deleteWebhook(
  deps: Pick<DomainDeps, "store">,
  principal: Principal,
  id: string,
): Promise<void> {
  const current = await loadWebhook(deps, principal, id);
  if (!(await deps.store.deleteWebhook(current.id))) throw new NotFoundError("Webhook");
}
