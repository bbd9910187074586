import type { ComponentChildren, VNode } from "preact";
import { ApiError } from "../api/client.ts";
import type { Load } from "../lib/use-load.ts";

export function Loading({ what }: { what: string }) {
  return (
    <p class="state loading" role="status">
      Loading {what}…
    </p>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="state empty">{children}</p>;
}

export function ErrorNote({ error, retry }: { error: Error; retry?: () => void }) {
  const status = error instanceof ApiError ? error.status : null;
  const details = error instanceof ApiError ? error.errors : [];
  return (
    <div class="state error" role="alert">
      <p>
        {status ? <strong>{status}: </strong> : null}
        {error.message}
      </p>
      {details.length > 0 ? (
        <ul>
          {details.map((d) => (
            <li key={d}>{d}</li>
          ))}
        </ul>
      ) : null}
      {retry ? (
        <button type="button" onClick={retry}>
          Try again
        </button>
      ) : null}
    </div>
  );
}

/** The three states of a load: loading, error (with a retry), ready. */
export function Loaded<T>({ load, what, retry, children }: { load: Load<T>; what: string; retry?: () => void; children: (data: T) => VNode | null }) {
  if (load.state === "loading") return <Loading what={what} />;
  if (load.state === "error") return <ErrorNote error={load.error} {...(retry ? { retry } : {})} />;
  return children(load.data);
}
