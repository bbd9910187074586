/**
 * A small read-through cache for rows read on every request (keys by hash, event types by
 * name). Entries live `ttlMs` at most, so a change made by another process (a key revoked with
 * the CLI) is seen within that time; this process's own writes clear what they change at once.
 */
export class TtlCache<V> {
  private readonly entries = new Map<string, { value: V; until: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  get(key: string, load: () => V): V {
    const now = performance.now();
    const hit = this.entries.get(key);
    if (hit && hit.until > now) return hit.value;
    const value = load();
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    this.entries.set(key, { value, until: now + this.ttlMs });
    return value;
  }

  /** How many times this process cleared it (a write changed what it holds). */
  generation = 0;

  clear(): void {
    this.entries.clear();
    this.generation++;
  }
}

/**
 * The webhooks each ingest fans out to, per tenant. Every write to a webhook in this process
 * clears it; another process's change (a future replica) is seen within a second.
 */
export type SubscriberCache = TtlCache<unknown>;

export const SUBSCRIBER_TTL_MS = 1_000;

export function subscriberCache(): TtlCache<unknown> {
  return new TtlCache<unknown>(SUBSCRIBER_TTL_MS, 10_000);
}
