import type { DomainDeps } from "../deps.ts";
import { assertValid, ConflictError } from "../errors.ts";
import { newId } from "../../lib/ids.ts";
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
  const tenantErrors: string[] = [];
  const tenantId = tenantForCreate(principal, input.tenant_id, tenantErrors);
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
  // A quota is a conflict with the tenant's current state (409), checked after the body is
  // known to be valid (422). The store counts and inserts in one transaction, so concurrent
  // creates (in this process or another on the same database) cannot overshoot it.
  const max = deps.config.security.max_webhooks_per_tenant;
  const res = await deps.store.insertWebhook(record, { maxPerTenant: max });
  if (!res.ok && res.reason === "quota") {
    throw new ConflictError(
      `This tenant has ${res.count} webhooks, the most allowed (security.max_webhooks_per_tenant is ${max}); delete one first.`,
    );
  }
  if (!res.ok) throw new ConflictError(`A webhook for ${record.url} already exists in this tenant.`);
  // The one response that ever shows the secret, and secret header values in full.
  return { ...renderWebhook(record), headers: record.headers, secret: record.secret };
}
