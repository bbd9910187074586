import { useEffect, useState } from "preact/hooks";
import { type Api, ApiError, must, type Schemas, type Webhook } from "../api/client.ts";
import { splitList } from "../lib/format.ts";
import { isoToLocalInput, localInputToIso } from "../lib/time.ts";
import { ErrorNote } from "./states.tsx";
import { Time } from "./time.tsx";

type Replay = Schemas["Replay"];

/** How often a running replay's progress is read again. */
const POLL_MS = 1_000;

/**
 * Replay the past to one webhook (API.md §14): a window in the viewer's zone, maybe fewer event
 * types, then the job's progress read every second until it is done or failed. For admins only
 * (the pages leave it out for other roles); the console's webhook page and the portal's share it.
 */
export function ReplayCard({ api, webhook, onFinished, noun = "webhook" }: { api: Api; webhook: Webhook; onFinished?: () => void; noun?: string }) {
  const [since, setSince] = useState(() => isoToLocalInput(Date.now() - 3_600_000));
  const [until, setUntil] = useState("");
  const [types, setTypes] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error | null>(null);
  const [job, setJob] = useState<Replay | null>(null);
  const [pollError, setPollError] = useState<Error | null>(null);
  const path = { id: webhook.id };
  const running = job?.status === "running";

  useEffect(() => {
    if (job?.status !== "running") return;
    let live = true;
    const timer = setTimeout(async () => {
      try {
        const next = await must(api.GET("/v1/webhooks/{id}/replays/{replay_id}", { params: { path: { id: webhook.id, replay_id: job.id } } }));
        if (!live) return;
        setPollError(null);
        setJob(next);
        if (next.status !== "running") onFinished?.();
      } catch (err) {
        if (!live) return;
        const e = err instanceof Error ? err : new Error(String(err));
        setPollError(e);
        // A refusal (the webhook or the job is gone) will not change by asking again; a network
        // hiccup may: keep the job "running" so the effect asks again in a second.
        if (e instanceof ApiError && e.status >= 400 && e.status < 500) setJob({ ...job, status: "failed" });
        else setJob({ ...job });
      }
    }, POLL_MS);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [job]);

  const start = async (e: Event) => {
    e.preventDefault();
    setError(null);
    const sinceIso = localInputToIso(since);
    if (!sinceIso) return setError(new Error("Pick the date and time to replay from."));
    const untilIso = until === "" ? undefined : localInputToIso(until);
    if (untilIso === null) return setError(new Error("The end of the window is not a date and time; clear it to replay up to now."));
    // Empty: the whole subscription (the API refuses an empty list).
    const eventTypes = splitList(types);
    setBusy(true);
    try {
      const body = { since: sinceIso, ...(untilIso ? { until: untilIso } : {}), ...(eventTypes.length > 0 ? { event_types: eventTypes } : {}) };
      const started = await must(api.POST("/v1/webhooks/{id}/replay", { params: { path }, body }));
      // Read at once, so the job shows as the server has it; then every second while it runs.
      const first = await must(api.GET("/v1/webhooks/{id}/replays/{replay_id}", { params: { path: { id: webhook.id, replay_id: started.id } } }));
      setPollError(null);
      setJob(first);
      if (first.status !== "running") onFinished?.();
    } catch (err) {
      setError(err instanceof Error ? err : new Error(String(err)));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="card" aria-labelledby="replay-title">
      <h2 id="replay-title">Replay events</h2>
      <p class="muted" id="replay-hint">
        Sends the events of a time window to this {noun} again as new deliveries: delivered before or not, published
        before the {noun} was added or not.
      </p>
      <form class="replay" onSubmit={start} aria-describedby="replay-hint">
        <label for="replay-since">Replay events since</label>
        <input id="replay-since" type="datetime-local" required value={since} onInput={(e) => setSince(e.currentTarget.value)} />
        <label for="replay-until">Until (optional)</label>
        <input id="replay-until" type="datetime-local" value={until} onInput={(e) => setUntil(e.currentTarget.value)} />
        <label for="replay-types">Only these event types (optional)</label>
        <input
          id="replay-types"
          type="text"
          value={types}
          aria-describedby="replay-types-hint"
          onInput={(e) => setTypes(e.currentTarget.value)}
        />
        <span id="replay-types-hint" class="muted hint">
          Comma-separated, within its subscription ({webhook.events.join(", ")}); empty: all of it.
        </span>
        <button type="submit" class="primary" disabled={busy || running}>
          Start replay
        </button>
      </form>
      {error ? <ErrorNote error={error} /> : null}
      {job ? <Progress job={job} /> : null}
      {pollError ? <ErrorNote error={pollError} /> : null}
    </section>
  );
}

function Progress({ job }: { job: Replay }) {
  return (
    <div class="replay-progress" data-testid="replay-progress">
      <p class={`state ${job.status === "done" ? "ok" : job.status === "failed" ? "error" : "loading"}`} role="status">
        Replay <code>{job.id}</code>: <strong data-testid="replay-status">{job.status}</strong>
        {job.status === "running" ? "…" : "."}
      </p>
      <dl class="facts">
        <dt>Matched</dt>
        <dd data-testid="replay-matched">{job.matched}</dd>
        <dt>Created</dt>
        <dd data-testid="replay-created">{job.created}</dd>
        <dt>Skipped (payload past retention)</dt>
        <dd data-testid="replay-skipped">{job.skipped}</dd>
        <dt>Started</dt>
        <dd><Time iso={job.started_at} /></dd>
        <dt>Finished</dt>
        <dd><Time iso={job.finished_at} /></dd>
      </dl>
    </div>
  );
}
