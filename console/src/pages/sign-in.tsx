import { useState } from "preact/hooks";
import { ApiError, makeClient } from "../api/client.ts";
import { type Principal, probePrincipal } from "../api/principal.ts";

/** Sign in with an API key (or a JWT): checked with read calls before it is kept. */
export function SignIn({ onSignedIn, notice }: { onSignedIn: (credential: string, principal: Principal) => void; notice?: string }) {
  const [value, setValue] = useState("");
  const [error, setError] = useState<string | null>(notice ?? null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const credential = value.trim();
    if (!credential) return setError("Enter an API key.");
    setBusy(true);
    setError(null);
    try {
      onSignedIn(credential, await probePrincipal(makeClient(credential)));
    } catch (err) {
      setError(err instanceof ApiError || err instanceof Error ? err.message : String(err));
      setBusy(false);
    }
  };
  return (
    <main id="main" class="sign-in">
      <h1>Hookline console</h1>
      <form onSubmit={submit} aria-describedby="sign-in-help">
        <label for="credential">API key</label>
        <input id="credential" name="credential" type="password" autoComplete="off" value={value} onInput={(e) => setValue(e.currentTarget.value)} required />
        <p id="sign-in-help" class="muted">
          Kept in this tab only (sessionStorage) and sent with each /v1 call; closing the tab or signing out forgets it.
        </p>
        {error ? (
          <p class="state error" role="alert">
            {error}
          </p>
        ) : null}
        <button type="submit" class="primary" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </main>
  );
}
