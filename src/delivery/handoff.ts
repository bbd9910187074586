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
  /** Reserved or queued, per webhook and in all: deliveries, and bytes (see cost). */
  private readonly usedBy = new Map<string, { n: number; bytes: number }>();
  private used = 0;
  private usedBytes = 0;
  private readonly perWebhookBytes: number;

  /**
   * `max` deliveries and `maxBytes` (their payloads, each counted in full although fan-out
   * deliveries share one) at most. `perWebhook` bounds one webhook's share (default a quarter
   * of `max`, and a quarter of `maxBytes`): a receiver that hangs fills its own share, not the
   * room of the others, whose deliveries then stay in memory.
   */
  constructor(
    private readonly max: number,
    private readonly perWebhook = Math.max(1, Math.floor(max / 4)),
    private readonly maxBytes = Number.POSITIVE_INFINITY,
  ) {
    this.perWebhookBytes = maxBytes / 4;
  }

  /** Deliveries queued or reserved. */
  get size(): number {
    return this.used;
  }

  /**
   * Room for one more delivery of the webhook, whose payload is `payloadLength` characters:
   * "webhook" or "all" when there is none.
   */
  reserve(webhookId: string, payloadLength = 0): "ok" | "webhook" | "all" {
    const bytes = cost(payloadLength);
    if (this.used >= this.max || this.usedBytes + bytes > this.maxBytes) return "all";
    const mine = this.usedBy.get(webhookId) ?? { n: 0, bytes: 0 };
    if (mine.n >= this.perWebhook || mine.bytes + bytes > this.perWebhookBytes) return "webhook";
    mine.n++;
    mine.bytes += bytes;
    this.usedBy.set(webhookId, mine);
    this.used++;
    this.usedBytes += bytes;
    return "ok";
  }

  /** Gives back a reservation whose transaction rolled back. */
  unreserve(webhookId: string, payloadLength = 0): void {
    this.forget(webhookId, cost(payloadLength));
  }

  /** Queues deliveries whose room was reserved by their (committed) ingest. */
  add(deliveries: readonly NewDelivery[]): void {
    for (const d of deliveries) enqueue(this.byWebhook, d.webhookId, d);
  }

  /** Up to `limit` deliveries, shared out level by level (see takeLevelled). */
  take(limit: number, cap: number, inflight: ReadonlyMap<string, number>): NewDelivery[] {
    const out = takeLevelled(this.byWebhook, limit, cap, inflight);
    for (const d of out) this.forget(d.webhookId, costOf(d));
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
        const d = q.items[q.head] as NewDelivery;
        out.push(d);
        q.head++;
        this.forget(id, costOf(d));
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
    this.usedBytes = 0;
    return out;
  }

  private forget(webhookId: string, bytes: number): void {
    const mine = this.usedBy.get(webhookId);
    if (mine && mine.n > 1) {
      mine.n--;
      mine.bytes -= bytes;
    } else this.usedBy.delete(webhookId);
    this.used--;
    this.usedBytes -= bytes;
  }
}

// What one held delivery keeps alive beyond its payload (its objects, headers, secret), roughly.
const OVERHEAD_BYTES = 512;

function cost(payloadLength: number): number {
  return payloadLength + OVERHEAD_BYTES;
}

function costOf(d: NewDelivery): number {
  return cost(d.claim?.delivery.payload.length ?? 0);
}
