import { useState } from "preact/hooks";
import { ApiError } from "../api/client.ts";
import { splitList } from "../lib/format.ts";
import { ErrorNote } from "./states.tsx";

export interface WebhookFields {
  url: string;
  events: string[];
  description: string;
}

/** URL, events and description, for create and edit; the API's 422 is shown field by field. */
export function WebhookForm({ initial, submitLabel, onSubmit, idPrefix }: { initial: WebhookFields; submitLabel: string; onSubmit: (f: WebhookFields) => Promise<void>; idPrefix: string }) {
  const [url, setUrl] = useState(initial.url);
  const [events, setEvents] = useState(initial.events.join(", "));
  const [description, setDescription] = useState(initial.description);
  const [error, setError] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await onSubmit({ url: url.trim(), events: splitList(events), description });
    } catch (err) {
      setError(err instanceof Error ? err : new ApiError(0, String(err)));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="stack" onSubmit={submit}>
      <label for={`${idPrefix}-url`}>Endpoint URL</label>
      <input id={`${idPrefix}-url`} type="url" required value={url} onInput={(e) => setUrl(e.currentTarget.value)} />
      <label for={`${idPrefix}-events`}>Event types (comma separated; member.* and * allowed)</label>
      <input id={`${idPrefix}-events`} required value={events} onInput={(e) => setEvents(e.currentTarget.value)} />
      <label for={`${idPrefix}-description`}>Description</label>
      <input id={`${idPrefix}-description`} value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
      {error ? <ErrorNote error={error} /> : null}
      <div>
        <button type="submit" class="primary" disabled={busy}>
          {busy ? "Saving…" : submitLabel}
        </button>
      </div>
    </form>
  );
}
