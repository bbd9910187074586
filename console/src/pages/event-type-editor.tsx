import { useState } from "preact/hooks";
import { ApiError, type EventType, must } from "../api/client.ts";
import { ErrorNote } from "../components/states.tsx";
import { prettyJson } from "../lib/format.ts";
import { useSession } from "../lib/session.tsx";

/** Parses the schema textarea: empty is "no schema" (null), bad JSON an error before any call. */
export function parseSchema(text: string): { ok: true; value: Record<string, unknown> | null } | { ok: false; error: string } {
  if (text.trim() === "") return { ok: true, value: null };
  try {
    const v: unknown = JSON.parse(text);
    if (v === null || typeof v !== "object" || Array.isArray(v)) return { ok: false, error: "schema: must be a JSON object" };
    return { ok: true, value: v as Record<string, unknown> };
  } catch (err) {
    return { ok: false, error: `schema: not valid JSON (${err instanceof Error ? err.message : String(err)})` };
  }
}

/** Create (no `existing`) or edit an event type: description and JSON Schema, as a global admin. */
export function EventTypeEditor({ existing, onSaved, onCancel }: { existing?: EventType; onSaved: () => void; onCancel: () => void }) {
  const { api } = useSession();
  const prefix = existing ? `edit-${existing.name.replace(/\W/g, "-")}` : "new-type";
  const [name, setName] = useState(existing?.name ?? "");
  const [description, setDescription] = useState(existing?.description ?? "");
  const [schema, setSchema] = useState(existing?.schema ? prettyJson(existing.schema) : "");
  const [error, setError] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);
  const save = async (e: Event) => {
    e.preventDefault();
    const parsed = parseSchema(schema);
    if (!parsed.ok) return setError(new ApiError(422, "The schema is not valid.", [parsed.error]));
    setBusy(true);
    setError(null);
    try {
      if (existing) {
        await must(api.PATCH("/v1/event-types/{name}", { params: { path: { name: existing.name } }, body: { description, schema: parsed.value } }));
      } else {
        await must(api.POST("/v1/event-types", { body: { name: name.trim(), description, ...(parsed.value ? { schema: parsed.value } : {}) } }));
      }
      onSaved();
    } catch (err) {
      setError(err instanceof Error ? err : new Error(String(err)));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="stack card" onSubmit={save} aria-label={existing ? `Edit ${existing.name}` : "New event type"}>
      {existing ? null : (
        <>
          <label for={`${prefix}-name`}>Name (resource.action)</label>
          <input id={`${prefix}-name`} required value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </>
      )}
      <label for={`${prefix}-description`}>Description</label>
      <input id={`${prefix}-description`} value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
      <label for={`${prefix}-schema`}>JSON Schema for the data (empty: any object)</label>
      <textarea id={`${prefix}-schema`} rows={10} spellcheck={false} value={schema} onInput={(e) => setSchema(e.currentTarget.value)} />
      {error ? <ErrorNote error={error} /> : null}
      <div class="actions">
        <button type="submit" class="primary" disabled={busy}>
          {busy ? "Saving…" : existing ? "Save" : "Create event type"}
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
