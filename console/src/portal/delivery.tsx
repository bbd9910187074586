import { must } from "../api/client.ts";
import { Id } from "../components/copy.tsx";
import { DeliveryOverview, useDeliveryRetry } from "../components/delivery.tsx";
import { Loaded } from "../components/states.tsx";
import { prettyJson } from "../lib/format.ts";
import { useLoad } from "../lib/use-load.ts";
import { usePortal } from "./session.ts";

/** One delivery: its attempts (status, duration, response body, error), the event's body, retry. */
export function PortalDelivery({ id }: { id: string }) {
  const { api, principal } = usePortal();
  const retry = useDeliveryRetry(api, id);
  const [load, reload] = useLoad(async () => {
    const delivery = await retry.fetchDelivery();
    const event = await must(api.GET("/v1/events/{id}", { params: { path: { id: delivery.event_id } } }));
    retry.forget();
    return { delivery, event };
  }, [id]);
  return (
    <section>
      <Loaded load={load} what="the delivery" retry={reload}>
        {({ delivery: loaded, event }) => {
          const d = retry.latest ?? loaded;
          return (
            <>
              <p>
                <a href={`/portal/webhooks/${d.webhook_id}`}>← The endpoint</a>
              </p>
              <DeliveryOverview
                delivery={d}
                retry={principal.admin ? retry : null}
                related={
                  <>
                    <dt>Event</dt>
                    <dd><code>{d.event_type}</code> · <Id id={d.event_id} /></dd>
                  </>
                }
              />
              <h2>Event data</h2>
              {event.payload_pruned ? <p class="state empty">The payload is no longer kept.</p> : <pre data-testid="event-body">{prettyJson(event.data)}</pre>}
            </>
          );
        }}
      </Loaded>
    </section>
  );
}
