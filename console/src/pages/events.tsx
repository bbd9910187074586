import { useLocation } from "preact-iso";
import { useState } from "preact/hooks";
import { must } from "../api/client.ts";
import { Id } from "../components/copy.tsx";
import { PagedTable, useCursorPages } from "../components/pager.tsx";
import { Time } from "../components/time.tsx";
import { inRange, localInputToIso } from "../lib/time.ts";
import { useSession } from "../lib/session.tsx";

interface Filters {
  type: string;
  from: string;
  to: string;
}

/**
 * Events newest first, by type (the API's filter) and by time range. The API has no time filter,
 * so the range narrows each page the cursor brings; paging stops once a page is older than "from".
 */
export function EventsPage() {
  const { api, tenantQuery, href } = useSession();
  const location = useLocation();
  const [draft, setDraft] = useState<Filters & { id: string }>({ id: "", type: "", from: "", to: "" });
  const [filters, setFilters] = useState<Filters>({ type: "", from: "", to: "" });
  const from = localInputToIso(filters.from);
  const to = localInputToIso(filters.to);
  const pages = useCursorPages(async (cursor) => {
    const page = await must(
      api.GET("/v1/events", { params: { query: { limit: "50", ...tenantQuery, ...(filters.type ? { type: filters.type } : {}), ...(cursor ? { cursor } : {}) } } }),
    );
    const oldest = page.data[page.data.length - 1];
    const pastRange = from !== null && oldest !== undefined && Date.parse(oldest.created_at) < Date.parse(from);
    return { data: page.data.filter((e) => inRange(e.created_at, from, to)), next_cursor: pastRange ? null : page.next_cursor };
  }, [tenantQuery.tenant, filters]);
  const apply = (e: Event) => {
    e.preventDefault();
    if (draft.id.trim()) return location.route(href(`/console/events/${encodeURIComponent(draft.id.trim())}`));
    setFilters({ type: draft.type.trim(), from: draft.from, to: draft.to });
  };
  const field = (name: keyof typeof draft) => ({ value: draft[name], onInput: (e: Event) => setDraft({ ...draft, [name]: (e.currentTarget as HTMLInputElement).value }) });
  return (
    <section>
      <h1>Events</h1>
      <form class="filters" onSubmit={apply}>
        <label for="event-id">Event id</label>
        <input id="event-id" placeholder="evt_…" {...field("id")} />
        <label for="event-type">Type</label>
        <input id="event-type" placeholder="member.added" {...field("type")} />
        <label for="event-from">From</label>
        <input id="event-from" type="datetime-local" {...field("from")} />
        <label for="event-to">To</label>
        <input id="event-to" type="datetime-local" {...field("to")} />
        <button type="submit">Search</button>
      </form>
      <PagedTable
        pages={pages}
        what="events"
        empty="No events on this page match."
        head={
          <>
            <th scope="col">Event</th>
            <th scope="col">Type</th>
            <th scope="col">Tenant</th>
            <th scope="col">Created</th>
          </>
        }
        row={(e) => (
          <tr key={e.id}>
            <td>
              <Id id={e.id} href={href(`/console/events/${e.id}`)} />
            </td>
            <td>{e.type}</td>
            <td>{e.tenant_id}</td>
            <td>
              <Time iso={e.created_at} />
            </td>
          </tr>
        )}
      />
    </section>
  );
}
