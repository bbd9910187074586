import { useState } from "preact/hooks";
import { must } from "../api/client.ts";
import { Empty, Loaded } from "../components/states.tsx";
import { Time } from "../components/time.tsx";
import { prettyJson } from "../lib/format.ts";
import { useSession } from "../lib/session.tsx";
import { useLoad } from "../lib/use-load.ts";
import { EventTypeEditor } from "./event-type-editor.tsx";

export function EventTypesPage() {
  const { api, principal } = useSession();
  // Only a global admin manages the catalog (API.md §3); everyone else reads it.
  const editor = principal.global && principal.admin;
  const [editing, setEditing] = useState<string | null>(null);
  const [load, reload] = useLoad(() => must(api.GET("/v1/event-types")), [api]);
  const saved = () => {
    setEditing(null);
    reload();
  };
  return (
    <section>
      <h1>Event types</h1>
      {editor ? (
        editing === "" ? (
          <EventTypeEditor onSaved={saved} onCancel={() => setEditing(null)} />
        ) : (
          <button type="button" class="primary" onClick={() => setEditing("")}>
            Add an event type
          </button>
        )
      ) : null}
      <Loaded load={load} what="event types" retry={reload}>
        {(list) =>
          list.data.length === 0 ? (
            <Empty>No event types yet.</Empty>
          ) : (
            <ul class="types">
              {list.data.map((t) => (
                <li key={t.name} class="card">
                  <h2>
                    <code>{t.name}</code> {t.archived ? <span class="badge status-failed">archived</span> : null}
                    {t.builtin ? <span class="badge">built in</span> : null}
                  </h2>
                  <p>{t.description || <span class="muted">No description.</span>}</p>
                  <p class="muted">
                    Created <Time iso={t.created_at} />
                  </p>
                  {editing === t.name ? (
                    <EventTypeEditor existing={t} onSaved={saved} onCancel={() => setEditing(null)} />
                  ) : (
                    <>
                      {t.schema ? (
                        <details>
                          <summary>JSON Schema</summary>
                          <pre>{prettyJson(t.schema)}</pre>
                        </details>
                      ) : (
                        <p class="muted">No schema: any object is accepted.</p>
                      )}
                      {editor && !t.builtin ? (
                        <button type="button" onClick={() => setEditing(t.name)} aria-label={`Edit ${t.name}`}>
                          Edit
                        </button>
                      ) : null}
                    </>
                  )}
                </li>
              ))}
            </ul>
          )
        }
      </Loaded>
    </section>
  );
}
