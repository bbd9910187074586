import { type Clock, every, type Scheduler } from "../domain/clock.ts";

/** What the idle set needs of a connection. */
export interface Parkable {
  origin: { key: string };
  /** When it is closed if still idle (set by park). */
  expiresAt: number;
}

export interface IdleOptions<C> {
  /** Idle connections kept across all origins; the least recently used one goes first. */
  maxIdle: number;
  /** How long an idle connection is kept at most. */
  idleMs: number;
  clock: Clock;
  scheduler: Scheduler;
  /** Closes a connection for good; it calls remove() itself. */
  destroy(conn: C): void;
}

/**
 * The outbound pool's idle connections: per origin (the most recent one is reused first, its
 * peer the least likely to have timed it out) and in park order across origins (the least
 * recently used one goes first when there are too many), closed by a reaper once they expire.
 * The reaper runs only while something is idle, on the injected scheduler.
 */
export class IdleConnections<C extends Parkable> {
  private readonly byOrigin = new Map<string, C[]>();
  // Insertion order is park order: the first entry is the least recently used.
  private readonly order = new Set<C>();
  private reaper: { stop(): void } | null = null;

  constructor(private readonly opts: IdleOptions<C>) {}

  get size(): number {
    return this.order.size;
  }

  /**
   * Keeps `conn` for reuse for idleMs, or a second less than the peer's Keep-Alive timeout hint
   * if that is shorter (so we do not write as it closes); false when that leaves no time, and
   * the caller closes it. Over maxIdle, the least recently used one goes.
   */
  park(conn: C, keepAliveMs: number | null): boolean {
    const ttl = keepAliveMs === null ? this.opts.idleMs : Math.min(this.opts.idleMs, keepAliveMs - 1_000);
    if (ttl <= 0) return false;
    conn.expiresAt = this.opts.clock.now() + ttl;
    const list = this.byOrigin.get(conn.origin.key);
    if (list) list.push(conn);
    else this.byOrigin.set(conn.origin.key, [conn]);
    this.order.add(conn);
    while (this.order.size > this.opts.maxIdle) {
      const oldest = this.order.values().next().value;
      if (oldest === undefined) break;
      this.opts.destroy(oldest);
    }
    this.reaper ??= every(this.opts.scheduler, Math.min(1_000, this.opts.idleMs), () => this.reap());
    return true;
  }

  /** The most recently parked connection to `key`, no longer idle; null when there is none. */
  take(key: string): C | null {
    const list = this.byOrigin.get(key);
    const conn = list?.pop();
    if (!conn) return null;
    this.order.delete(conn);
    if (list?.length === 0) this.byOrigin.delete(key);
    return conn;
  }

  /** Forgets `conn` if it is idle (it is closing); false if it was not. */
  remove(conn: C): boolean {
    if (!this.order.delete(conn)) return false;
    const list = this.byOrigin.get(conn.origin.key);
    if (!list) return true;
    const i = list.indexOf(conn);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.byOrigin.delete(conn.origin.key);
    return true;
  }

  /** Closes every idle connection and stops the reaper. */
  closeAll(): void {
    for (const conn of [...this.order]) this.opts.destroy(conn);
    this.reaper?.stop();
    this.reaper = null;
  }

  private reap(): void {
    const now = this.opts.clock.now();
    for (const conn of this.order) if (conn.expiresAt <= now) this.opts.destroy(conn);
    if (this.order.size === 0 && this.reaper) {
      this.reaper.stop();
      this.reaper = null;
    }
  }
}
