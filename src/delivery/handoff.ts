import type { NewDelivery } from "../domain/store.ts";

/**
 * Deliveries committed by an ingest, waiting in memory for a free slot, per webhook. The
 * database stays the source of truth: an id here is only a hint that saves a search (claiming
 * it checks it is still pending), and whatever does not fit is dropped and found by the next
 * claim from the database instead.
 */
export class Handoff {
  private readonly byWebhook = new Map<string, NewDelivery[]>();
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
      if (queue) queue.push(d);
      else this.byWebhook.set(d.webhookId, [d]);
      this.count++;
    }
  }

  /** Up to `limit` deliveries, none for a webhook already at `cap`, taking webhooks in turn. */
  take(limit: number, cap: number, inflight: ReadonlyMap<string, number>): NewDelivery[] {
    const out: NewDelivery[] = [];
    // Over a snapshot: a webhook moved to the back below is not visited twice in one take.
    for (const webhookId of [...this.byWebhook.keys()]) {
      if (out.length >= limit) break;
      const queue = this.byWebhook.get(webhookId) as NewDelivery[];
      const room = Math.min(cap - (inflight.get(webhookId) ?? 0), limit - out.length, queue.length);
      if (room <= 0) continue;
      out.push(...queue.splice(0, room));
      this.count -= room;
      this.byWebhook.delete(webhookId);
      // Back of the line, so the next take starts with another webhook.
      if (queue.length > 0) this.byWebhook.set(webhookId, queue);
    }
    return out;
  }

  clear(): void {
    this.byWebhook.clear();
    this.count = 0;
  }
}
