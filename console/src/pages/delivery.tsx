import { useState } from "preact/hooks";
import { type Attempt, type Delivery, must } from "../api/client.ts";
import { Id } from "../components/copy.tsx";
import { ErrorNote, Loaded } from "../components/states.tsx";
import { DeliveryStatus } from "../components/status.tsx";
import { Time } from "../components/time.tsx";
import { millis, prettyJson, standardHeaders } from "../lib/format.ts";
import { useSession } from "../lib/session.tsx";
import { useLoad } from "../lib/use-load.ts";

/** Every attempt, newest first: when, how long, the answer's status and body, the error. */
export function Attempts({ attempts }: { attempts: Attempt[] }) {
  if (attempts.length === 0) return <p class="state empty">No attempt yet.</p>;
  return (
    <ol class="attempts" aria-label="Attempts">
      {[...attempts].reverse().map((a) => (
        <li key={a.n} class="card" data-testid="attempt">
          <p>
            <strong>Attempt {a.n}</strong> · <Time iso={a.started_at} /> · {millis(a.duration_ms)} ·{" "}
            {a.status_code ? <span class={a.status_code < 300 ? "ok-text" : "bad-text"}>HTTP {a.status_code}</span> : <span class="bad-text">no answer</span>}
          </p>
          {a.error ? <p class="bad-text">Error: {a.error}</p> : null}
          <details>
            <summary>Response body</summary>
            <pre>{a.response_body || "(empty)"}</pre>
          </details>
        </li>
      ))}
    </ol>
  );
}

const POLLS = 20;

/** Waits (bounded) for the retry's attempt to be recorded, so the page shows it. */
export async function untilNewAttempt(fetchIt: () => Promise<Delivery>, before: number): Promise<Delivery> {
  let latest = await fetchIt();
  for (let i = 0; i < POLLS && (latest.attempts?.length ?? 0) <= before; i++) {
    await new Promise((r) => setTimeout(r, 250));
    latest = await fetchIt();
  }
  return latest;
}

export function DeliveryPage({ id }: { id: string }) {
  const { api, principal, href } = useSession();
  const [override, setOverride] = useState<Delivery | null>(null);
  const [retrying, setRetrying] = useState(false);
  const [retryError, setRetryError] = useState<Error | null>(null);
  const fetchDelivery = () => must(api.GET("/v1/deliveries/{id}", { params: { path: { id } } }));
  const [load, reload] = useLoad(async () => {
    const delivery = await fetchDelivery();
    const [event, webhook] = await Promise.all([
      must(api.GET("/v1/events/{id}", { params: { path: { id: delivery.event_id } } })),
      must(api.GET("/v1/webhooks/{id}", { params: { path: { id: delivery.webhook_id } } })).catch(() => null),
    ]);
    setOverride(null);
    return { delivery, event, webhook };
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
        {({ delivery: loaded, event, webhook }) => {
          const d = override ?? loaded;
          const attempts = d.attempts ?? [];
          return (
            <>
              <h1>
                Delivery <DeliveryStatus status={d.status} />
              </h1>
              <dl class="facts">
                <dt>Id</dt>
                <dd><Id id={d.id} /></dd>
                <dt>Event</dt>
                <dd><Id id={d.event_id} href={href(`/console/events/${d.event_id}`)} /> ({d.event_type})</dd>
                <dt>Webhook</dt>
                <dd><Id id={d.webhook_id} href={href(`/console/webhooks/${d.webhook_id}`)} /> {webhook ? webhook.url : null}</dd>
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
