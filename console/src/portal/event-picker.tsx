import type { EventType } from "../api/client.ts";
import { Empty, Loaded } from "../components/states.tsx";
import { useLoad } from "../lib/use-load.ts";
import { must } from "../api/client.ts";
import { usePortal } from "./session.ts";

/** What a customer may subscribe to: the catalog's live types (built-in ones, such as webhook.test, are sent on request only). */
export function subscribable(types: EventType[]): EventType[] {
  return types.filter((t) => !t.archived && !t.builtin).sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * The catalog as checkboxes with each type's description, and "every event type" (*). Events a
 * webhook already has that the catalog no longer lists (a wildcard such as member.*) stay
 * checked, so an edit does not drop them unseen.
 */
export function EventPicker({ value, onChange, idPrefix }: { value: string[]; onChange: (events: string[]) => void; idPrefix: string }) {
  const { api } = usePortal();
  const [load, retry] = useLoad(async () => subscribable((await must(api.GET("/v1/event-types"))).data), []);
  const toggle = (name: string, on: boolean) => onChange(on ? [...value.filter((v) => v !== name), name] : value.filter((v) => v !== name));
  const all = value.includes("*");
  return (
    <fieldset class="event-picker">
      <legend>Event types</legend>
      <Loaded load={load} what="the event types" retry={retry}>
        {(types) => {
          const known = new Set(types.map((t) => t.name));
          const others = value.filter((v) => v !== "*" && !known.has(v));
          return (
            <>
              <div class="pick">
                <input id={`${idPrefix}-all`} type="checkbox" checked={all} onChange={(e) => toggle("*", e.currentTarget.checked)} />
                <label for={`${idPrefix}-all`}>
                  <strong>Every event type</strong> <span class="muted">— including ones added later</span>
                </label>
              </div>
              {types.length === 0 && others.length === 0 ? <Empty>No event types are published yet.</Empty> : null}
              {[...types.map((t) => ({ name: t.name, description: t.description })), ...others.map((name) => ({ name, description: "" }))].map((t) => {
                const id = `${idPrefix}-type-${t.name.replace(/[^a-z0-9_-]/gi, "_")}`;
                return (
                  <div class="pick" key={t.name}>
                    <input id={id} type="checkbox" disabled={all} checked={all || value.includes(t.name)} onChange={(e) => toggle(t.name, e.currentTarget.checked)} />
                    <label for={id}>
                      <code>{t.name}</code>
                      {t.description ? <span class="muted"> — {t.description}</span> : null}
                    </label>
                  </div>
                );
              })}
            </>
          );
        }}
      </Loaded>
    </fieldset>
  );
}
