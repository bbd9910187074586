import { enqueue, takeLevelled, type WebhookQueue } from "../domain/fair-share.ts";
import type { NewDelivery } from "../domain/store.ts";

/**
 * Deliveries an ingest claimed for this process ("hold": status delivering under the ingest's
 * lease) waiting in memory for a free slot, per webhook. Room is reserved inside the ingest
 * transaction (reserve), so nothing claimed is ever dropped here; a delivery that finds no room
 * stays pending in the database and a claim finds it there. The database stays the source of
 * truth: a held delivery is confirmed against it (confirmHeld) unless it is fresh, and given
 * back (releaseHeld) before its lease could run out.
 */
export class Handoff {
  private readonly byWebhook = new Map<string, WebhookQueue<NewDelivery>>();
  /** Reserved or queued, per webhook and in all. */
  private readonly usedBy = new Map<string, number>();
  private used = 0;

  /**
   * `perWebhook` bounds one webhook's share (default a quarter of `max`): a receiver that hangs
   * fills its own share, not the room of the others, whose deliveries then stay in memory.
   */
  constructor(
    private readonly max: number,
    private readonly perWebhook = Math.max(1, Math.floor(max / 4)),
  ) {}

  /** Deliveries queued or reserved. */
  get size(): number {
    return this.used;
  }

  /** Room for one more delivery of the webhook: "webhook" or "all" when there is none. */
  reserve(webhookId: string): "ok" | "webhook" | "all" {
    if (this.used >= this.max) return "all";
    const mine = this.usedBy.get(webhookId) ?? 0;
    if (mine >= this.perWebhook) return "webhook";
    this.usedBy.set(webhookId, mine + 1);
    this.used++;
    return "ok";
  }

  /** Gives back a reservation whose transaction rolled back. */
  unreserve(webhookId: string): void {
    this.forget(webhookId, 1);
  }

  /** Queues deliveries whose room was reserved by their (committed) ingest. */
  add(deliveries: readonly NewDelivery[]): void {
    for (const d of deliveries) enqueue(this.byWebhook, d.webhookId, d);
  }

  /** Up to `limit` deliveries, shared out level by level (see takeLevelled). */
  take(limit: number, cap: number, inflight: ReadonlyMap<string, number>): NewDelivery[] {
    const out = takeLevelled(this.byWebhook, limit, cap, inflight);
    for (const d of out) this.forget(d.webhookId, 1);
    return out;
  }

  /**
   * Removes and returns the deliveries claimed before `createdBefore`. Each webhook's queue is in
   * ingest order, so only the front of each is looked at.
   */
  takeOlderThan(createdBefore: number): NewDelivery[] {
    const out: NewDelivery[] = [];
    for (const [id, q] of [...this.byWebhook]) {
      while (q.head < q.items.length && ((q.items[q.head] as NewDelivery).claim?.delivery.createdAt ?? 0) < createdBefore) {
        out.push(q.items[q.head] as NewDelivery);
        q.head++;
        this.forget(id, 1);
      }
      if (q.head >= q.items.length) this.byWebhook.delete(id);
    }
    return out;
  }

  /** Empties it and returns what was queued. */
  clear(): NewDelivery[] {
    const out: NewDelivery[] = [];
    for (const q of this.byWebhook.values()) out.push(...q.items.slice(q.head));
    this.byWebhook.clear();
    this.usedBy.clear();
    this.used = 0;
    return out;
  }

  private forget(webhookId: string, n: number): void {
    const left = (this.usedBy.get(webhookId) ?? n) - n;
    if (left > 0) this.usedBy.set(webhookId, left);
    else this.usedBy.delete(webhookId);
    this.used -= n;
  }
}
