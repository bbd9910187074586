import type { DomainDeps } from "../deps.ts";
import { NotFoundError, ValidationError } from "../errors.ts";
import { EVENT_TYPE_RE } from "../event-patterns.ts";
import { isId } from "../../lib/ids.ts";
import { type Page, type PageRequest, toPage } from "../pagination.ts";
import { canSee, type Principal, tenantForRead } from "../principal.ts";
import type { WebhookRecord } from "../store.ts";
import { renderWebhook, type WebhookView } from "./render.ts";

/** The webhook if the principal may see it; another tenant's webhook is simply not found. */
export async function loadWebhook(
  deps: Pick<DomainDeps, "store">,
  principal: Principal,
  id: string,
): Promise<WebhookRecord> {
  const w = isId(id, "wh") ? await deps.store.getWebhook(id) : undefined;
  if (!w || !canSee(principal, w.tenantId)) throw new NotFoundError("Webhook");
  return w;
}

export async function getWebhook(
  deps: Pick<DomainDeps, "store">,
  principal: Principal,
  id: string,
): Promise<WebhookView> {
  return renderWebhook(await loadWebhook(deps, principal, id));
}

export interface WebhookListQuery {
  tenant?: string;
  enabled?: string;
  event?: string;
}

export async function listWebhooks(
  deps: Pick<DomainDeps, "store">,
  principal: Principal,
  page: PageRequest,
  query: WebhookListQuery,
): Promise<Page<WebhookView>> {
  const errors: string[] = [];
  let enabled: boolean | undefined;
  if (query.enabled !== undefined && query.enabled !== "") {
    if (query.enabled === "true") enabled = true;
    else if (query.enabled === "false") enabled = false;
    else errors.push("enabled: must be true or false");
  }
  if (query.event !== undefined && query.event !== "" && !EVENT_TYPE_RE.test(query.event)) {
    errors.push("event: must be an event type such as 'member.added'");
  }
  if (errors.length > 0) throw new ValidationError(errors);
  const tenantId = tenantForRead(principal, query.tenant);
  const rows = await deps.store.listWebhooks({
    ...page,
    ...(tenantId !== undefined ? { tenantId } : {}),
    ...(enabled !== undefined ? { enabled } : {}),
    ...(query.event ? { eventType: query.event } : {}),
  });
  return toPage(rows, page.limit, renderWebhook);
}
