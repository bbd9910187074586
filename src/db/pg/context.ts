// What every part of the PostgreSQL store shares: the client, the secret box, and the caches
// that keep hot reads (keys by hash, event types by name, a tenant's fan-out targets) off the
// database. A change made through this replica clears them at once; one made through another
// replica is seen when the entry expires, and entries live at most CACHE_MS — the "within 1 s"
// of API.md §11. No correctness rests on LISTEN/NOTIFY.
import type { SecretBox } from "../../domain/secret-box.ts";
import type { PgClient } from "./client.ts";

export const CACHE_MS = 1_000;

/** A read-through cache of async loads, each entry kept at most `ttlMs`. */
export class AsyncTtlCache<V> {
  private readonly entries = new Map<string, { value: Promise<V>; until: number }>();
  /** How many times it was cleared (a write in this replica changed what it holds). */
  generation = 0;

  constructor(
    private readonly ttlMs = CACHE_MS,
    private readonly maxEntries = 10_000,
  ) {}

  get(key: string, load: () => Promise<V>): Promise<V> {
    const now = performance.now();
    const hit = this.entries.get(key);
    if (hit && hit.until > now) return hit.value;
    const value = load();
    // A failed load is not remembered: the next call tries again.
    value.catch(() => {
      if (this.entries.get(key)?.value === value) this.entries.delete(key);
    });
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    this.entries.set(key, { value, until: now + this.ttlMs });
    return value;
  }

  /** Forgets one entry (found stale), leaving the others. */
  delete(key: string): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
    this.generation++;
  }
}

export interface PgContext {
  client: PgClient;
  secrets: SecretBox;
  /** This replica's name, for leases it holds (the housekeeping lease). */
  replicaId: string;
}
