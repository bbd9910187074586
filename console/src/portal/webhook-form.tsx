import { useState } from "preact/hooks";
import type { WebhookFields } from "../components/webhook-form.tsx";
import { ErrorNote } from "../components/states.tsx";
import { EventPicker } from "./event-picker.tsx";

/** The portal's create and edit form: the endpoint, a description, event types from the catalog. The API's 422 is shown as it names each field. */
export function PortalWebhookForm({ initial, submitLabel, onSubmit, onCancel, idPrefix }: { initial: WebhookFields; submitLabel: string; onSubmit: (f: WebhookFields) => Promise<void>; onCancel: () => void; idPrefix: string }) {
  const [url, setUrl] = useState(initial.url);
  const [events, setEvents] = useState(initial.events);
  const [description, setDescription] = useState(initial.description);
  const [error, setError] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    if (events.length === 0) return setError(new Error("Pick at least one event type."));
    setBusy(true);
    setError(null);
    try {
      await onSubmit({ url: url.trim(), events, description });
    } catch (err) {
      setError(err instanceof Error ? err : new Error(String(err)));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="stack" onSubmit={submit}>
      <label for={`${idPrefix}-url`}>Endpoint URL</label>
      <input id={`${idPrefix}-url`} type="url" required placeholder="https://example.com/webhooks" value={url} onInput={(e) => setUrl(e.currentTarget.value)} />
      <label for={`${idPrefix}-description`}>Description</label>
      <input id={`${idPrefix}-description`} value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
      <EventPicker idPrefix={idPrefix} value={events} onChange={setEvents} />
      {error ? <ErrorNote error={error} /> : null}
      <div class="actions">
        <button type="submit" class="primary" disabled={busy}>
          {busy ? "Saving…" : submitLabel}
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
