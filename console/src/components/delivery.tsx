import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { type Api, type Attempt, type Delivery, must } from "../api/client.ts";
import { millis } from "../lib/format.ts";
import { Id } from "./copy.tsx";
import { ErrorNote } from "./states.tsx";
import { DeliveryStatus } from "./status.tsx";
import { Time } from "./time.tsx";

/** Every attempt, newest first: when, how long, the answer's status and body, the error. */
function Attempts({ attempts }: { attempts: Attempt[] }) {
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
async function untilNewAttempt(fetchIt: () => Promise<Delivery>, before: number): Promise<Delivery> {
  let latest = await fetchIt();
  for (let i = 0; i < POLLS && (latest.attempts?.length ?? 0) <= before; i++) {
    await new Promise((r) => setTimeout(r, 250));
    latest = await fetchIt();
  }
  return latest;
}

/**
 * "Retry now" on one delivery: POST …/retry, then the delivery read again until the new attempt
 * is recorded. `latest` is that read, shown over what the page loaded until `forget` (a reload).
 */
export function useDeliveryRetry(api: Api, id: string) {
  const [latest, setLatest] = useState<Delivery | null>(null);
  const [retrying, setRetrying] = useState(false);
  const [error, setError] = useState<Error | null>(null);
  const fetchDelivery = () => must(api.GET("/v1/deliveries/{id}", { params: { path: { id } } }));
  const retry = async (before: number) => {
    setRetrying(true);
    setError(null);
    try {
      await must(api.POST("/v1/deliveries/{id}/retry", { params: { path: { id } } }));
      setLatest(await untilNewAttempt(fetchDelivery, before));
    } catch (err) {
      setError(err instanceof Error ? err : new Error(String(err)));
    } finally {
      setRetrying(false);
    }
  };
  return { fetchDelivery, latest, forget: () => setLatest(null), retrying, error, retry };
}

export type DeliveryRetry = ReturnType<typeof useDeliveryRetry>;

/**
 * One delivery as the console and the portal both show it: status, facts (the page's own rows for
 * the event and the webhook in `related`), "Retry now" when `retry` is given (admins), attempts.
 */
export function DeliveryOverview({ delivery: d, related, retry }: { delivery: Delivery; related: ComponentChildren; retry: DeliveryRetry | null }) {
  const attempts = d.attempts ?? [];
  return (
    <>
      <h1>
        Delivery <DeliveryStatus status={d.status} />
      </h1>
      <dl class="facts">
        <dt>Id</dt>
        <dd><Id id={d.id} /></dd>
        {related}
        <dt>Attempts</dt>
        <dd data-testid="attempts-count">{d.attempts_count}</dd>
        <dt>Next attempt</dt>
        <dd><Time iso={d.next_attempt_at} /></dd>
        <dt>Created</dt>
        <dd><Time iso={d.created_at} /></dd>
      </dl>
      {retry ? (
        <p>
          <button type="button" class="primary" disabled={retry.retrying} onClick={() => retry.retry(attempts.length)}>
            {retry.retrying ? "Retrying…" : "Retry now"}
          </button>
        </p>
      ) : null}
      {retry?.error ? <ErrorNote error={retry.error} /> : null}
      <h2>Attempts</h2>
      <Attempts attempts={attempts} />
    </>
  );
}
