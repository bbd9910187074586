/**
 * What the dispatcher has under way, counted: attempts in flight, in all and per webhook, and
 * answered attempts whose outcome is not written yet. It decides nothing about the database;
 * it answers "is there a slot" for the ingest, the hand-off and the claim alike, so the caps
 * (`delivery.concurrency`, `delivery.per_webhook_concurrency`) hold whoever takes the slot.
 *
 * A slot is given back when an attempt's answer (or error) arrives, before its outcome is
 * written (the writer may be busy with a commit): the slot bounds requests to receivers.
 * Outcomes still to be written are bounded too, by as many again, so a slow disk holds new
 * attempts back instead of piling up answers in memory.
 */
export class SlotLedger {
  private inflight = 0;
  private readonly perWebhook = new Map<string, number>();
  private unwritten = 0;
  /**
   * Claims waiting for the store: the slots they picked are not counted until they return, so
   * an ingest must not take slots meanwhile (it holds instead) or the caps could be exceeded.
   */
  private claims = 0;

  constructor(
    private readonly max: number,
    private readonly perWebhookCap: number,
  ) {}

  /** Attempts sent and not answered yet. */
  get inFlight(): number {
    return this.inflight;
  }

  /** Attempts answered whose outcome is not written yet. */
  get unwrittenOutcomes(): number {
    return this.unwritten;
  }

  /** In flight per webhook, for the fair share of claims and the hand-off (read only). */
  get byWebhook(): ReadonlyMap<string, number> {
    return this.perWebhook;
  }

  get claiming(): boolean {
    return this.claims > 0;
  }

  /** Slots free for new attempts: under the cap in flight, and under the cap of unwritten outcomes. */
  free(): number {
    return Math.max(0, Math.min(this.max - this.inflight, this.max - this.unwritten));
  }

  /** Whether the webhook is under its own cap. */
  hasRoom(webhookId: string): boolean {
    return (this.perWebhook.get(webhookId) ?? 0) < this.perWebhookCap;
  }

  /**
   * A slot for an ingest's delivery, taken at once (inside its transaction) if there is one and
   * no claim is picking slots; false leaves the ingest to hold it or leave it pending.
   */
  tryReserve(webhookId: string): boolean {
    if (this.claims > 0 || this.free() <= 0 || !this.hasRoom(webhookId)) return false;
    this.occupy(webhookId);
    return true;
  }

  /** A claimed or confirmed delivery starts: its slot is counted (a claim respected the caps). */
  occupy(webhookId: string): void {
    this.inflight++;
    this.perWebhook.set(webhookId, (this.perWebhook.get(webhookId) ?? 0) + 1);
  }

  /** A slot is free again without an outcome to write (a reservation rolled back, an attempt that threw). */
  release(webhookId: string): void {
    this.inflight--;
    const left = (this.perWebhook.get(webhookId) ?? 1) - 1;
    if (left > 0) this.perWebhook.set(webhookId, left);
    else this.perWebhook.delete(webhookId);
  }

  /** The attempt was answered: its slot is free, its outcome is still to be written. */
  answered(webhookId: string): void {
    this.release(webhookId);
    this.unwritten++;
  }

  /** An answered attempt's outcome is written (or could not be: its lease brings it back). */
  written(): void {
    this.unwritten--;
  }

  beginClaim(): void {
    this.claims++;
  }

  endClaim(): void {
    this.claims--;
  }
}
