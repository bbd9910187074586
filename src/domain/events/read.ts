import type { DomainDeps } from "../deps.ts";
import { NotFoundError, ValidationError } from "../errors.ts";
import { EVENT_TYPE_RE } from "../event-patterns.ts";
import { isId } from "../../lib/ids.ts";
import { type Page, type PageRequest, toPage } from "../pagination.ts";
import { canSee, type Principal, tenantForRead } from "../principal.ts";
import { type EventView, renderEvent, renderEventWithDeliveries } from "./render.ts";

export async function listEvents(
  deps: Pick<DomainDeps, "store">,
  principal: Principal,
  page: PageRequest,
  query: { type?: string; tenant?: string },
): Promise<Page<EventView>> {
  if (query.type !== undefined && query.type !== "" && !EVENT_TYPE_RE.test(query.type)) {
    throw new ValidationError(["type: must be an event type such as 'member.added'"]);
  }
  const tenantId = tenantForRead(principal, query.tenant);
  const rows = await deps.store.listEvents({
    ...page,
    ...(tenantId !== undefined ? { tenantId } : {}),
    ...(query.type ? { type: query.type } : {}),
  });
  return toPage(rows, page.limit, renderEvent);
}

export async function getEvent(deps: Pick<DomainDeps, "store">, principal: Principal, id: string) {
  const e = isId(id, "evt") ? await deps.store.getEvent(id) : undefined;
  if (!e || !canSee(principal, e.tenantId)) throw new NotFoundError("Event");
  return renderEventWithDeliveries(e, await deps.store.listEventDeliveries(e.id));
}
