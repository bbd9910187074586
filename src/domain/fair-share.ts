// How free delivery slots are shared among webhooks, wherever the waiting work comes from (the
// dispatcher's in-memory hand-off, or rows read from the database by a claim).

/** One webhook's waiting items in order; `head` advances instead of shifting the array. */
export interface WebhookQueue<T> {
  items: T[];
  head: number;
}

/** Appends `item` to webhook `id`'s queue, creating it at the back of the map. */
export function enqueue<T>(queues: Map<string, WebhookQueue<T>>, id: string, item: T): void {
  const q = queues.get(id);
  if (q) q.items.push(item);
  else queues.set(id, { items: [item], head: 0 });
}

/**
 * Slots webhook `id` has left under `cap`: those running (`inflight`) and those an earlier
 * step of the same claim took (`taken`) use them. Zero or less: nothing more for it.
 */
export function roomLeft(
  id: string,
  cap: number,
  inflight: ReadonlyMap<string, number>,
  taken: ReadonlyMap<string, number>,
): number {
  return cap - (inflight.get(id) ?? 0) - (taken.get(id) ?? 0);
}

/**
 * Takes up to `limit` items, none for a webhook at `cap`, level by level: first one for each
 * webhook with nothing in flight, then for those with one, and so on, webhooks in map order
 * within a level. A burst then reaches every receiver at the pace of its own answers, instead of
 * `cap` parallel requests (and connections) to one receiver while the next waits.
 *
 * `inflight` counts what is already running; `taken` counts what earlier calls of the same claim
 * took and is updated here. A webhook taken from moves to the back of `queues` (the next call
 * starts with another), and an emptied queue is removed.
 */
export function takeLevelled<T>(
  queues: Map<string, WebhookQueue<T>>,
  limit: number,
  cap: number,
  inflight: ReadonlyMap<string, number>,
  taken: Map<string, number> = new Map(),
): T[] {
  const out: T[] = [];
  const used = (id: string) => (inflight.get(id) ?? 0) + (taken.get(id) ?? 0);
  // One webhook waiting (a single busy receiver): no levels to spread over, take its room at once.
  if (queues.size === 1) {
    const [id, queue] = queues.entries().next().value as [string, WebhookQueue<T>];
    const room = Math.min(roomLeft(id, cap, inflight, taken), limit, queue.items.length - queue.head);
    if (room <= 0) return out;
    for (let i = 0; i < room; i++) out.push(queue.items[queue.head + i] as T);
    queue.head += room;
    taken.set(id, (taken.get(id) ?? 0) + room);
    if (queue.head < queue.items.length) queues.set(id, compact(queue));
    else queues.delete(id);
    return out;
  }
  for (let level = 0; out.length < limit && level < cap; ) {
    let next = cap;
    // Over a snapshot: a webhook moved to the back below is not visited twice in one pass.
    for (const [id, queue] of [...queues]) {
      if (out.length >= limit) break;
      const n = used(id);
      if (n > level) {
        next = Math.min(next, n);
        continue;
      }
      out.push(queue.items[queue.head] as T);
      queue.head++;
      taken.set(id, (taken.get(id) ?? 0) + 1);
      queues.delete(id);
      if (queue.head < queue.items.length) {
        queues.set(id, compact(queue));
        next = Math.min(next, n + 1);
      }
    }
    level = next;
  }
  return out;
}

/** Drops the consumed front once it is most of the array, so memory follows what waits. */
function compact<T>(q: WebhookQueue<T>): WebhookQueue<T> {
  if (q.head < 1_024 || q.head * 2 < q.items.length) return q;
  return { items: q.items.slice(q.head), head: 0 };
}
