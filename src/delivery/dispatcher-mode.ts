/**
 * The dispatcher is always in one of these modes, and moves between them only along the
 * transitions below (checked at each move: a wrong one is a bug, and throws):
 *
 *   unstarted ─start─▶ idle ─schedule─▶ pumping ─last pass done─▶ idle
 *   unstarted | idle | pumping | stopped ─stop─▶ stopping ─done─▶ stopped ─start─▶ idle
 *
 * - unstarted: built, not started. Nothing runs by itself and ingests claim nothing; tests
 *   drive it with dispatchOnce(now).
 * - idle: started, no pump scheduled or running. It waits for a wake-up: an offer, a freed
 *   slot, a reservation given back, the sweep, or the retry timer (armed after each pump).
 * - pumping: a pump is scheduled or running (claim from the hand-off and the database, launch,
 *   again while asked to). A request for another pass meanwhile sets `again`, which only this
 *   mode has.
 * - stopping: stop() was called: ingests claim nothing, no pump is scheduled (one under way
 *   ends its pass), held deliveries are given back, in-flight attempts get the grace period,
 *   outcomes are drained, the rest released. A claim that returns in this mode (or in
 *   stopped) is given back at once.
 * - stopped: stop() is done; start() may run it again.
 */
export type Mode = "unstarted" | "idle" | "pumping" | "stopping" | "stopped";

const NEXT: Readonly<Record<Mode, readonly Mode[]>> = {
  unstarted: ["idle", "stopping"],
  idle: ["pumping", "stopping"],
  pumping: ["idle", "stopping"],
  stopping: ["stopped"],
  stopped: ["idle", "stopping"],
};

/** Whether `to` may follow `from`. */
export function canMove(from: Mode, to: Mode): boolean {
  return NEXT[from].includes(to);
}

/** `to`, after checking that it may follow `from`. */
export function move(from: Mode, to: Mode): Mode {
  invariant(canMove(from, to), `cannot go from ${from} to ${to}`);
  return to;
}

/** What a mode requires on entering it: false is a bug in the dispatcher, and throws. */
export function invariant(holds: boolean, what: string): void {
  if (!holds) throw new Error(`dispatcher: ${what}`);
}

/** Started and not stopping: ingests may claim, wake-ups schedule pumps, timers are armed. */
export function isStarted(mode: Mode): boolean {
  return mode === "idle" || mode === "pumping";
}

/** stop() was called (not merely never started): a late claim goes back at once. */
export function isStopped(mode: Mode): boolean {
  return mode === "stopping" || mode === "stopped";
}
