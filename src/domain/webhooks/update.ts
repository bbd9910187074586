import type { DomainDeps } from "../deps.ts";
import { assertValid, ConflictError, NotFoundError } from "../errors.ts";
import type { Principal } from "../principal.ts";
import type { WebhookChanges } from "../store.ts";
import { loadWebhook } from "./read.ts";
import { disabledError, renderWebhook, type WebhookView } from "./render.ts";
import { validateWebhookInput, type WebhookInput } from "./validate.ts";

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
  if (fields.headers !== undefined) changes.headers = fields.headers;
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

export async function deleteWebhook(
  deps: Pick<DomainDeps, "store">,
  principal: Principal,
  id: string,
): Promise<void> {
  const current = await loadWebhook(deps, principal, id);
  if (!(await deps.store.deleteWebhook(current.id))) throw new NotFoundError("Webhook");
}
