import { must } from "../api/client.ts";
import { Id } from "../components/copy.tsx";
import { Empty, Loaded } from "../components/states.tsx";
import { DeliveryStatus } from "../components/status.tsx";
import { Time } from "../components/time.tsx";
import { prettyJson } from "../lib/format.ts";
import { useSession } from "../lib/session.tsx";
import { useLoad } from "../lib/use-load.ts";

export function EventPage({ id }: { id: string }) {
  const { api, href } = useSession();
  const [load, reload] = useLoad(() => must(api.GET("/v1/events/{id}", { params: { path: { id } } })), [id]);
  return (
    <section>
      <Loaded load={load} what="the event" retry={reload}>
        {(e) => (
          <>
            <h1>
              Event <span class="muted">{e.type}</span>
            </h1>
            <dl class="facts">
              <dt>Id</dt>
              <dd><Id id={e.id} /></dd>
              <dt>Tenant</dt>
              <dd>{e.tenant_id}</dd>
              <dt>Idempotency key</dt>
              <dd>{e.idempotency_key ?? <span class="muted">–</span>}</dd>
              <dt>Created</dt>
              <dd><Time iso={e.created_at} /></dd>
            </dl>
            <h2>Data</h2>
            {e.payload_pruned ? <p class="state empty">The payload was pruned by the retention policy.</p> : <pre>{prettyJson(e.data)}</pre>}
            <h2>Deliveries</h2>
            {e.deliveries.length === 0 ? (
              <Empty>No webhook was subscribed to this event.</Empty>
            ) : (
              <table>
                <thead>
                  <tr>
                    <th scope="col">Delivery</th>
                    <th scope="col">Webhook</th>
                    <th scope="col">Status</th>
                    <th scope="col">Attempts</th>
                    <th scope="col">Updated</th>
                  </tr>
                </thead>
                <tbody>
                  {e.deliveries.map((d) => (
                    <tr key={d.id}>
                      <td><Id id={d.id} href={href(`/console/deliveries/${d.id}`)} /></td>
                      <td><a href={href(`/console/webhooks/${d.webhook_id}`)}>{d.webhook_id}</a></td>
                      <td><DeliveryStatus status={d.status} /></td>
                      <td>{d.attempts_count}</td>
                      <td><Time iso={d.updated_at} /></td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </>
        )}
      </Loaded>
    </section>
  );
}
