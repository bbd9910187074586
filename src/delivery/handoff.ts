import { enqueue, takeLevelled, type WebhookQueue } from "../domain/fair-share.ts";
import type { NewDelivery } from "../domain/store.ts";

/**
 * Deliveries committed by an ingest, waiting in memory for a free slot, per webhook. The
 * database stays the source of truth: an id here is only a hint that saves a search (claiming
 * it checks it is still pending), and whatever does not fit is dropped and found by the next
 * claim from the database instead.
 */
export class Handoff {
  private readonly byWebhook = new Map<string, WebhookQueue<NewDelivery>>();
  private count = 0;
  /** Set when the whole hand-off was full: anyone's deliveries may be in the database only. */
  overflowed = false;
  /** Webhooks that had deliveries dropped at their own bound (those are in the database only). */
  readonly droppedFor = new Set<string>();

  /**
   * `perWebhook` bounds one webhook's queue (default a quarter of `max`): a receiver that hangs
   * fills its own share, not the room of the others, whose deliveries then stay in memory.
   */
  constructor(
    private readonly max: number,
    private readonly perWebhook = Math.max(1, Math.floor(max / 4)),
  ) {}

  get size(): number {
    return this.count;
  }

  add(deliveries: readonly NewDelivery[]): void {
    for (const d of deliveries) {
      if (this.count >= this.max) {
        this.overflowed = true;
        return;
      }
      const q = this.byWebhook.get(d.webhookId);
      if (q && q.items.length - q.head >= this.perWebhook) {
        this.droppedFor.add(d.webhookId);
        continue;
      }
      enqueue(this.byWebhook, d.webhookId, d);
      this.count++;
    }
  }

  /** Up to `limit` deliveries, shared out level by level (see takeLevelled). */
  take(limit: number, cap: number, inflight: ReadonlyMap<string, number>): NewDelivery[] {
    const out = takeLevelled(this.byWebhook, limit, cap, inflight);
    this.count -= out.length;
    return out;
  }

  clear(): void {
    this.byWebhook.clear();
    this.droppedFor.clear();
    this.count = 0;
  }
}
