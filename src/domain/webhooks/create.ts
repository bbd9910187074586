import type { DomainDeps } from "../deps.ts";
import { assertValid, ConflictError, ValidationError } from "../errors.ts";
import { newId } from "../ids.ts";
import { type Principal, tenantForCreate } from "../principal.ts";
import { generateSecret } from "../secrets.ts";
import type { WebhookRecord } from "../store.ts";
import { renderWebhook, type WebhookView } from "./render.ts";
import { validateWebhookInput, type WebhookInput } from "./validate.ts";

export async function createWebhook(
  deps: DomainDeps,
  principal: Principal,
  input: WebhookInput & { tenant_id?: string },
): Promise<WebhookView & { secret: string }> {
  // A missing tenant_id is one more problem to list with the others; a foreign tenant is a 403
  // and comes first.
  const tenantErrors: string[] = [];
  let tenantId = "";
  try {
    tenantId = tenantForCreate(principal, input.tenant_id);
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    tenantErrors.push(...(err.errors ?? []));
  }
  const { errors, fields } = await validateWebhookInput(deps, input, "create");
  assertValid([...tenantErrors, ...errors]);
  const now = deps.clock.now();
  const record: WebhookRecord = {
    id: newId("wh", now),
    tenantId,
    url: fields.url as string,
    events: fields.events as string[],
    description: fields.description ?? "",
    headers: fields.headers ?? {},
    secret: fields.secret ?? generateSecret(),
    previousSecret: null,
    previousSecretExpiresAt: null,
    enabled: fields.enabled ?? true,
    disabledReason: fields.enabled === false ? "manual" : null,
    failureCount: 0,
    failingSince: null,
    createdAt: now,
    updatedAt: now,
  };
  const res = await deps.store.insertWebhook(record);
  if (!res.ok) throw new ConflictError(`A webhook for ${record.url} already exists in this tenant.`);
  // The one response that ever shows the secret.
  return { ...renderWebhook(record), secret: record.secret };
}
