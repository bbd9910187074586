import { must } from "../api/client.ts";
import { Id } from "../components/copy.tsx";
import { DeliveryOverview, useDeliveryRetry } from "../components/delivery.tsx";
import { Loaded } from "../components/states.tsx";
import { prettyJson, standardHeaders } from "../lib/format.ts";
import { useSession } from "../lib/session.tsx";
import { useLoad } from "../lib/use-load.ts";

export function DeliveryPage({ id }: { id: string }) {
  const { api, principal, href } = useSession();
  const retry = useDeliveryRetry(api, id);
  const [load, reload] = useLoad(async () => {
    const delivery = await retry.fetchDelivery();
    const [event, webhook] = await Promise.all([
      must(api.GET("/v1/events/{id}", { params: { path: { id: delivery.event_id } } })),
      must(api.GET("/v1/webhooks/{id}", { params: { path: { id: delivery.webhook_id } } })).catch(() => null),
    ]);
    retry.forget();
    return { delivery, event, webhook };
  }, [id]);
  return (
    <section>
      <Loaded load={load} what="the delivery" retry={reload}>
        {({ delivery: loaded, event, webhook }) => {
          const d = retry.latest ?? loaded;
          return (
            <>
              <DeliveryOverview
                delivery={d}
                retry={principal.admin ? retry : null}
                related={
                  <>
                    <dt>Event</dt>
                    <dd><Id id={d.event_id} href={href(`/console/events/${d.event_id}`)} /> ({d.event_type})</dd>
                    <dt>Webhook</dt>
                    <dd><Id id={d.webhook_id} href={href(`/console/webhooks/${d.webhook_id}`)} /> {webhook ? webhook.url : null}</dd>
                  </>
                }
              />
              <h2>Headers sent</h2>
              <p class="muted">The webhook's own headers as the API shows them (secret values masked), and Hookline's signature headers.</p>
              <table>
                <tbody>
                  {[...standardHeaders(d.event_id), ...Object.entries(webhook?.headers ?? {})].map(([k, v]) => (
                    <tr key={k}>
                      <th scope="row"><code>{k}</code></th>
                      <td><code>{v}</code></td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <h2>Event body</h2>
              {event.payload_pruned ? <p class="state empty">The payload was pruned by the retention policy.</p> : <pre data-testid="event-body">{prettyJson(event.data)}</pre>}
            </>
          );
        }}
      </Loaded>
    </section>
  );
}
