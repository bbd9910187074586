/** Everything that depends on time takes a Clock, so tests can drive time instead of sleeping. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** RFC 3339 UTC with milliseconds, the only timestamp format of the API. */
export function toIso(ms: number): string {
  return new Date(ms).toISOString();
}

declare const armed: unique symbol;
/** A timer a Scheduler armed; only that scheduler's clearTimeout reads it. */
export type TimerHandle = { readonly [armed]: true };

/**
 * Everything that waits for time takes a Scheduler beside its Clock, so tests fire timers when
 * they say (ManualScheduler.advance) instead of waiting for them. A timer never keeps the
 * process alive by itself: shutdown does not wait for a retry timer or a reaper.
 */
export interface Scheduler {
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export const systemScheduler: Scheduler = {
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return t as unknown as TimerHandle;
  },
  clearTimeout(handle) {
    clearTimeout(handle as unknown as ReturnType<typeof setTimeout>);
  },
};

/** Runs `fn` every `ms` until stopped (re-armed before each run, so a slow `fn` cannot stop it). */
export function every(scheduler: Scheduler, ms: number, fn: () => void): { stop(): void } {
  let handle: TimerHandle | undefined;
  let stopped = false;
  const tick = () => {
    handle = scheduler.setTimeout(tick, ms);
    fn();
  };
  handle = scheduler.setTimeout(tick, ms);
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      if (handle !== undefined) scheduler.clearTimeout(handle);
    },
  };
}

/** A clock a ManualScheduler can move: FakeClock in the tests, or its own. */
export interface SettableClock extends Clock {
  set(ms: number): unknown;
}

/**
 * The test implementation: timers fire only inside advance(), in the order they are due (ties
 * in the order armed), each with the clock set to its due time first — as if that much time had
 * passed, without waiting for it.
 */
export class ManualScheduler implements Scheduler {
  private readonly timers = new Map<number, { at: number; fn: () => void }>();
  private seq = 0;
  private readonly clock: SettableClock;

  constructor(clock?: SettableClock) {
    let t = Date.now();
    this.clock = clock ?? { now: () => t, set: (ms: number) => (t = ms) };
  }

  now(): number {
    return this.clock.now();
  }

  /** Timers armed and not fired or cleared yet. */
  get pending(): number {
    return this.timers.size;
  }

  /** When the next timer is due, if any. */
  nextAt(): number | undefined {
    let next: number | undefined;
    for (const t of this.timers.values()) if (next === undefined || t.at < next) next = t.at;
    return next;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = ++this.seq;
    this.timers.set(id, { at: this.clock.now() + Math.max(0, ms), fn });
    return id as unknown as TimerHandle;
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers.delete(handle as unknown as number);
  }

  /**
   * Moves time on by `ms`, firing every timer due by then, including those armed by a timer that
   * fired (an interval fires as often as it would have). Returns how many fired.
   */
  advance(ms: number): number {
    const until = this.clock.now() + ms;
    let fired = 0;
    for (;;) {
      let dueId: number | undefined;
      let due: { at: number; fn: () => void } | undefined;
      for (const [id, t] of this.timers) if (t.at <= until && (due === undefined || t.at < due.at)) [dueId, due] = [id, t];
      if (due === undefined || dueId === undefined) break;
      this.timers.delete(dueId);
      if (due.at > this.clock.now()) this.clock.set(due.at);
      fired++;
      due.fn();
    }
    this.clock.set(until);
    return fired;
  }
}
