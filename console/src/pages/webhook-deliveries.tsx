import { useState } from "preact/hooks";
import { type Api, must } from "../api/client.ts";
import { Id } from "../components/copy.tsx";
import { PagedTable, useCursorPages } from "../components/pager.tsx";
import { DeliveryStatus } from "../components/status.tsx";
import { Time } from "../components/time.tsx";

const STATUSES = ["", "pending", "delivering", "succeeded", "failed"] as const;

/**
 * A webhook's deliveries, newest first, filtered by status, paged by cursor; each links to
 * `deliveryHref(id)` (the console's page or the portal's).
 */
export function WebhookDeliveries({ api, webhookId, round, deliveryHref }: { api: Api; webhookId: string; round: number; deliveryHref: (id: string) => string }) {
  const [status, setStatus] = useState<(typeof STATUSES)[number]>("");
  const pages = useCursorPages(
    (cursor) =>
      must(
        api.GET("/v1/webhooks/{id}/deliveries", {
          params: { path: { id: webhookId }, query: { limit: "20", ...(status ? { status } : {}), ...(cursor ? { cursor } : {}) } },
        }),
      ),
    [webhookId, status, round],
  );
  return (
    <section aria-labelledby="deliveries-title">
      <h2 id="deliveries-title">Deliveries</h2>
      <p class="filters">
        <label for="status-filter">Status</label>
        <select id="status-filter" value={status} onChange={(e) => setStatus(e.currentTarget.value as (typeof STATUSES)[number])}>
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {s || "any"}
            </option>
          ))}
        </select>
        <button type="button" onClick={pages.reload}>
          Refresh
        </button>
      </p>
      <PagedTable
        pages={pages}
        what="deliveries"
        empty={`No deliveries${status ? ` with status ${status}` : ""}.`}
        head={
          <>
            <th scope="col">Delivery</th>
            <th scope="col">Event type</th>
            <th scope="col">Status</th>
            <th scope="col">Attempts</th>
            <th scope="col">Last answer</th>
            <th scope="col">Created</th>
            <th scope="col">Next attempt</th>
          </>
        }
        row={(d) => (
          <tr key={d.id}>
            <td>
              <Id id={d.id} href={deliveryHref(d.id)} />
            </td>
            <td>{d.event_type}</td>
            <td>
              <DeliveryStatus status={d.status} />
            </td>
            <td>{d.attempts_count}</td>
            <td>{d.last_status_code ? `HTTP ${d.last_status_code}` : (d.last_error ?? "–")}</td>
            <td>
              <Time iso={d.created_at} />
            </td>
            <td>
              <Time iso={d.next_attempt_at} />
            </td>
          </tr>
        )}
      />
    </section>
  );
}
