// Reads of events, deliveries and attempts on PostgreSQL, and the API's one write on deliveries
// (recover: failed deliveries scheduled again), as db/store/deliveries.ts does for SQLite.
import {
  type AttemptRecord,
  type ClaimedDelivery,
  DELIVERY_STATUSES,
  type DeliveryFilter,
  type DeliveryRecord,
  type DeliveryStatus,
  type EventFilter,
  type EventRecord,
} from "../../../domain/store.ts";
import type { PgContext } from "../context.ts";
import {
  type AttemptRow,
  DELIVERY_COLUMNS,
  type DeliveryRow,
  type EventRow,
  SEND_COLUMNS,
  SEND_JOIN,
  type SendRow,
  toAttempt,
  toClaimed,
  toDelivery,
  toEvent,
} from "../rows.ts";

const STATUSES: ReadonlySet<string> = new Set<string>(DELIVERY_STATUSES);

/**
 * A status as an SQL literal, not a parameter: the indexes on deliveries are partial (one state
 * each), and a plan can use one only when the query names its state (a generic plan of a
 * prepared statement cannot know what `$n` will be).
 */
function statusLiteral(status: DeliveryStatus): string {
  if (!STATUSES.has(status)) throw new Error(`unknown delivery status: ${status}`);
  return `'${status}'`;
}

export function pgDeliveryQueries(ctx: PgContext) {
  const { client, secrets } = ctx;

  /** Newest first below the cursor, limit + 1 rows; `where` holds $1…, the limit comes last. */
  function page<R extends Record<string, unknown>>(
    from: string,
    where: string[],
    args: unknown[],
    limit: number,
  ): Promise<R[]> {
    const clause = where.length > 0 ? `WHERE ${where.join(" AND ")}` : "";
    return client.query<R>(`${from} ${clause} ORDER BY id DESC LIMIT $${args.length + 1}`, [...args, limit + 1]);
  }

  return {
    async getEvent(id: string): Promise<EventRecord | undefined> {
      const [r] = await client.query<EventRow>("SELECT * FROM events WHERE id = $1", [id]);
      return r ? toEvent(r) : undefined;
    },
    async listEvents(f: EventFilter): Promise<EventRecord[]> {
      const where: string[] = [];
      const args: unknown[] = [];
      if (f.tenantId !== undefined) args.push(f.tenantId) && where.push(`tenant_id = $${args.length}`);
      if (f.type !== undefined) args.push(f.type) && where.push(`type = $${args.length}`);
      if (f.before !== undefined) args.push(f.before) && where.push(`id < $${args.length}`);
      return (await page<EventRow>("SELECT * FROM events", where, args, f.limit)).map(toEvent);
    },
    async listEventDeliveries(eventId: string): Promise<DeliveryRecord[]> {
      const rows = await client.query<DeliveryRow>(
        `SELECT ${DELIVERY_COLUMNS} FROM deliveries WHERE event_id = $1 ORDER BY id DESC`,
        [eventId],
      );
      return rows.map(toDelivery);
    },
    async getDelivery(id: string): Promise<DeliveryRecord | undefined> {
      const [r] = await client.query<DeliveryRow>(`SELECT ${DELIVERY_COLUMNS} FROM deliveries WHERE id = $1`, [id]);
      return r ? toDelivery(r) : undefined;
    },
    async listDeliveries(f: DeliveryFilter): Promise<DeliveryRecord[]> {
      const where = ["webhook_id = $1"];
      const args: unknown[] = [f.webhookId];
      if (f.status !== undefined) where.push(`status = ${statusLiteral(f.status)}`);
      if (f.before !== undefined) args.push(f.before) && where.push(`id < $${args.length}`);
      return (await page<DeliveryRow>(`SELECT ${DELIVERY_COLUMNS} FROM deliveries`, where, args, f.limit)).map(
        toDelivery,
      );
    },
    async listAttempts(deliveryId: string): Promise<AttemptRecord[]> {
      const rows = await client.query<AttemptRow>("SELECT * FROM attempts WHERE delivery_id = $1 ORDER BY n", [
        deliveryId,
      ]);
      return rows.map(toAttempt);
    },
    async loadForSend(deliveryId: string): Promise<ClaimedDelivery | undefined> {
      const [r] = await client.query<SendRow>(`SELECT ${SEND_COLUMNS} FROM ${SEND_JOIN} WHERE d.id = $1`, [deliveryId]);
      return r ? toClaimed(r, secrets) : undefined;
    },
    async requeueFailed(webhookId: string, since: number, now: number): Promise<number> {
      // The rows are locked before they change, each delivery FOR UPDATE and its event FOR
      // SHARE, in id order: the retention sweep (maintenance.ts) locks the same deliveries the
      // same way before it prunes a payload or purges an event. Whichever comes second sees the
      // other's commit: a delivery made pending again keeps its event and payload, and a payload
      // pruned meanwhile (its event row updated) takes the delivery out of this recover, as the
      // payload <> '' check is made again on the newest row. A plain UPDATE … WHERE EXISTS would
      // check the payload in its own snapshot and could schedule a delivery with nothing to send.
      const rows = await client.query(
        `WITH c AS (
           SELECT d.id FROM deliveries d JOIN events e ON e.id = d.event_id
           WHERE d.webhook_id = $3 AND d.status = 'failed' AND d.created_at >= $4 AND e.payload <> ''
           ORDER BY d.id
           FOR UPDATE OF d FOR SHARE OF e)
         UPDATE deliveries SET status = 'pending', next_attempt_at = $1, retry_base = attempts_count,
           retry_started_at = NULL, lease_expires_at = NULL, updated_at = $2
         FROM c WHERE deliveries.id = c.id
         RETURNING deliveries.id`,
        [now, now, webhookId, since],
      );
      return rows.length;
    },
  };
}
