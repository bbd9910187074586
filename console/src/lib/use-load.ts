import { useCallback, useEffect, useRef, useState } from "preact/hooks";

export type Load<T> = { state: "loading" } | { state: "error"; error: Error } | { state: "ready"; data: T };

/**
 * Runs `fetcher` when `deps` change and on reload(). A reload keeps showing the data it has
 * until the new answer comes (forms and messages below stay put); new deps show "loading". A
 * late answer for stale deps is dropped, so a fast click through pages never shows the wrong one.
 */
export function useLoad<T>(fetcher: () => Promise<T>, deps: unknown[]): [Load<T>, () => void] {
  const [load, setLoad] = useState<Load<T>>({ state: "loading" });
  const [round, setRound] = useState(0);
  const key = JSON.stringify(deps);
  const lastKey = useRef<string | null>(null);
  useEffect(() => {
    let current = true;
    const same = lastKey.current === key;
    lastKey.current = key;
    setLoad((prev) => (same && prev.state === "ready" ? prev : { state: "loading" }));
    fetcher().then(
      (data) => current && setLoad({ state: "ready", data }),
      (error: unknown) => current && setLoad({ state: "error", error: error instanceof Error ? error : new Error(String(error)) }),
    );
    return () => {
      current = false;
    };
  }, [key, round]);
  const reload = useCallback(() => setRound((r) => r + 1), []);
  return [load, reload];
}
