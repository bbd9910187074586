import { useState } from "preact/hooks";
import { type Delivery, must } from "../api/client.ts";
import { Id } from "../components/copy.tsx";
import { ErrorNote, Loaded } from "../components/states.tsx";
import { DeliveryStatus } from "../components/status.tsx";
import { Time } from "../components/time.tsx";
import { prettyJson } from "../lib/format.ts";
import { useLoad } from "../lib/use-load.ts";
import { Attempts, untilNewAttempt } from "../pages/delivery.tsx";
import { usePortal } from "./session.ts";

/** One delivery: its attempts (status, duration, response body, error), the event's body, retry. */
export function PortalDelivery({ id }: { id: string }) {
  const { api, principal } = usePortal();
  const [override, setOverride] = useState<Delivery | null>(null);
  const [retrying, setRetrying] = useState(false);
  const [retryError, setRetryError] = useState<Error | null>(null);
  const fetchDelivery = () => must(api.GET("/v1/deliveries/{id}", { params: { path: { id } } }));
  const [load, reload] = useLoad(async () => {
    const delivery = await fetchDelivery();
    const event = await must(api.GET("/v1/events/{id}", { params: { path: { id: delivery.event_id } } }));
    setOverride(null);
    return { delivery, event };
  }, [id]);
  const retry = async (before: number) => {
    setRetrying(true);
    setRetryError(null);
    try {
      await must(api.POST("/v1/deliveries/{id}/retry", { params: { path: { id } } }));
      setOverride(await untilNewAttempt(fetchDelivery, before));
    } catch (err) {
      setRetryError(err instanceof Error ? err : new Error(String(err)));
    } finally {
      setRetrying(false);
    }
  };
  return (
    <section>
      <Loaded load={load} what="the delivery" retry={reload}>
        {({ delivery: loaded, event }) => {
          const d = override ?? loaded;
          const attempts = d.attempts ?? [];
          return (
            <>
              <p>
                <a href={`/portal/webhooks/${d.webhook_id}`}>← The endpoint</a>
              </p>
              <h1>
                Delivery <DeliveryStatus status={d.status} />
              </h1>
              <dl class="facts">
                <dt>Id</dt>
                <dd><Id id={d.id} /></dd>
                <dt>Event</dt>
                <dd><code>{d.event_type}</code> · <Id id={d.event_id} /></dd>
                <dt>Attempts</dt>
                <dd data-testid="attempts-count">{d.attempts_count}</dd>
                <dt>Next attempt</dt>
                <dd><Time iso={d.next_attempt_at} /></dd>
                <dt>Created</dt>
                <dd><Time iso={d.created_at} /></dd>
              </dl>
              {principal.admin ? (
                <p>
                  <button type="button" class="primary" disabled={retrying} onClick={() => retry(attempts.length)}>
                    {retrying ? "Retrying…" : "Retry now"}
                  </button>
                </p>
              ) : null}
              {retryError ? <ErrorNote error={retryError} /> : null}
              <h2>Attempts</h2>
              <Attempts attempts={attempts} />
              <h2>Event data</h2>
              {event.payload_pruned ? <p class="state empty">The payload is no longer kept.</p> : <pre data-testid="event-body">{prettyJson(event.data)}</pre>}
            </>
          );
        }}
      </Loaded>
    </section>
  );
}
