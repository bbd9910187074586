import type { NewDelivery } from "../domain/store.ts";

/**
 * Deliveries committed by an ingest, waiting in memory for a free slot, per webhook. The
 * database stays the source of truth: an id here is only a hint that saves a search (claiming
 * it checks it is still pending), and whatever does not fit is dropped and found by the next
 * claim from the database instead.
 */
export class Handoff {
  private readonly byWebhook = new Map<string, Queue>();
  private count = 0;
  /** Set when something was dropped: the dispatcher must search the database again. */
  overflowed = false;

  constructor(private readonly max: number) {}

  get size(): number {
    return this.count;
  }

  add(deliveries: readonly NewDelivery[]): void {
    for (const d of deliveries) {
      if (this.count >= this.max) {
        this.overflowed = true;
        return;
      }
      const queue = this.byWebhook.get(d.webhookId);
      if (queue) queue.items.push(d);
      else this.byWebhook.set(d.webhookId, { items: [d], head: 0 });
      this.count++;
    }
  }

  /**
   * Up to `limit` deliveries, none for a webhook at `cap`, spread level by level: first one for
   * each webhook with nothing in flight, then for those with one, and so on, each level in turn
   * order. A burst of events then reaches every receiver at the pace of its own answers, instead
   * of 32 requests (opening 32 connections) to one receiver while the next waits.
   */
  take(limit: number, cap: number, inflight: ReadonlyMap<string, number>): NewDelivery[] {
    const out: NewDelivery[] = [];
    const taken = new Map<string, number>();
    // One webhook waiting (a single busy receiver): no levels to spread over, take its room at once.
    if (this.byWebhook.size === 1) {
      const [webhookId, queue] = this.byWebhook.entries().next().value as [string, Queue];
      const room = Math.min(cap - (inflight.get(webhookId) ?? 0), limit, queue.items.length - queue.head);
      if (room <= 0) return out;
      for (let i = 0; i < room; i++) out.push(queue.items[queue.head + i] as NewDelivery);
      queue.head += room;
      this.count -= room;
      if (queue.head < queue.items.length) this.byWebhook.set(webhookId, compact(queue));
      else this.byWebhook.delete(webhookId);
      return out;
    }
    for (let level = 0; out.length < limit && level < cap; ) {
      let next = cap;
      // Over a snapshot: a webhook moved to the back below is not visited twice in one pass.
      for (const [webhookId, queue] of [...this.byWebhook]) {
        if (out.length >= limit) break;
        const used = (inflight.get(webhookId) ?? 0) + (taken.get(webhookId) ?? 0);
        if (used > level) {
          next = Math.min(next, used);
          continue;
        }
        out.push(queue.items[queue.head] as NewDelivery);
        queue.head++;
        this.count--;
        taken.set(webhookId, used + 1);
        this.byWebhook.delete(webhookId);
        // Back of the line, so the next pass (or take) starts with another webhook.
        if (queue.head < queue.items.length) {
          this.byWebhook.set(webhookId, compact(queue));
          next = Math.min(next, used + 1);
        }
      }
      level = next;
    }
    return out;
  }

  clear(): void {
    this.byWebhook.clear();
    this.count = 0;
  }
}

/** One webhook's waiting deliveries; `head` advances instead of shifting the array. */
interface Queue {
  items: NewDelivery[];
  head: number;
}

/** Drops the consumed front once it is most of the array, so memory follows what waits. */
function compact(q: Queue): Queue {
  if (q.head < 1_024 || q.head * 2 < q.items.length) return q;
  return { items: q.items.slice(q.head), head: 0 };
}
