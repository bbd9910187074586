import type { Database } from "bun:sqlite";
import type { SecretBox } from "../../domain/secret-box.ts";
import {
  type AttemptRecord,
  type ClaimedDelivery,
  DELIVERY_STATUSES,
  type DeliveryFilter,
  type DeliveryRecord,
  type DeliveryStatus,
  type EventFilter,
  type EventRecord,
} from "../../domain/store.ts";
import {
  type AttemptRow,
  type DeliveryRow,
  type EventRow,
  SEND_COLUMNS,
  SEND_JOIN,
  type SendRow,
  toAttempt,
  toClaimed,
  toDelivery,
  toEvent,
  webhookTouched,
} from "./rows.ts";

type Bind = string | number | null;

const STATUSES: ReadonlySet<string> = new Set<string>(DELIVERY_STATUSES);

/**
 * A status as an SQL literal, not a parameter: the indexes on deliveries are partial (one
 * state each), and SQLite uses a partial index only when the query names its state as written.
 */
function statusLiteral(status: DeliveryStatus): string {
  if (!STATUSES.has(status)) throw new Error(`unknown delivery status: ${status}`);
  return `'${status}'`;
}

/** Reads of events, deliveries and attempts, and the API's writes on deliveries. */
export function deliveryQueries(sqlite: Database, secrets: SecretBox, webhookChanged: () => void = () => {}) {
  const getEvent = sqlite.query<EventRow, [string]>("SELECT * FROM events WHERE id = ?");
  const eventDeliveries = sqlite.query<DeliveryRow, [string]>(
    "SELECT * FROM deliveries WHERE event_id = ? ORDER BY id DESC",
  );
  const getDelivery = sqlite.query<DeliveryRow, [string]>("SELECT * FROM deliveries WHERE id = ?");
  const attempts = sqlite.query<AttemptRow, [string]>("SELECT * FROM attempts WHERE delivery_id = ? ORDER BY n");
  const forSend = sqlite.query<SendRow, [string]>(`SELECT ${SEND_COLUMNS} FROM ${SEND_JOIN} WHERE d.id = ?`);
  const requeue = sqlite.query<{ id: string }, [number, number, string, number]>(
    `UPDATE deliveries SET status = 'pending', next_attempt_at = ?1, retry_base = attempts_count,
       retry_started_at = NULL, lease_expires_at = NULL, updated_at = ?2
     WHERE webhook_id = ?3 AND status = 'failed' AND created_at >= ?4
       AND EXISTS (SELECT 1 FROM events e WHERE e.id = deliveries.event_id AND e.payload <> '') RETURNING id`,
  );
  const rotate = sqlite.query<unknown, [number, number, string, string]>(
    `UPDATE webhooks SET previous_secret = secret, previous_secret_expires_at = ?1, secret = ?4, ${webhookTouched("?2")}
     WHERE id = ?3`,
  );

  function page<R>(sql: string, where: string[], args: Bind[], limit: number): R[] {
    const clause = where.length > 0 ? `WHERE ${where.join(" AND ")}` : "";
    return sqlite.query<R, Bind[]>(`${sql} ${clause} ORDER BY id DESC LIMIT ?`).all(...args, limit + 1);
  }

  return {
    async getEvent(id: string): Promise<EventRecord | undefined> {
      const r = getEvent.get(id);
      return r ? toEvent(r) : undefined;
    },
    async listEvents(f: EventFilter): Promise<EventRecord[]> {
      const where: string[] = [];
      const args: Bind[] = [];
      if (f.tenantId !== undefined) where.push("tenant_id = ?") && args.push(f.tenantId);
      if (f.type !== undefined) where.push("type = ?") && args.push(f.type);
      if (f.before !== undefined) where.push("id < ?") && args.push(f.before);
      return page<EventRow>("SELECT * FROM events", where, args, f.limit).map(toEvent);
    },
    async listEventDeliveries(eventId: string): Promise<DeliveryRecord[]> {
      return eventDeliveries.all(eventId).map(toDelivery);
    },
    async getDelivery(id: string): Promise<DeliveryRecord | undefined> {
      const r = getDelivery.get(id);
      return r ? toDelivery(r) : undefined;
    },
    async listDeliveries(f: DeliveryFilter): Promise<DeliveryRecord[]> {
      const where = ["webhook_id = ?"];
      const args: Bind[] = [f.webhookId];
      if (f.status !== undefined) where.push(`status = ${statusLiteral(f.status)}`);
      if (f.before !== undefined) where.push("id < ?") && args.push(f.before);
      return page<DeliveryRow>("SELECT * FROM deliveries", where, args, f.limit).map(toDelivery);
    },
    async listAttempts(deliveryId: string): Promise<AttemptRecord[]> {
      return attempts.all(deliveryId).map(toAttempt);
    },
    async loadForSend(deliveryId: string): Promise<ClaimedDelivery | undefined> {
      const r = forSend.get(deliveryId);
      return r ? toClaimed(r, secrets) : undefined;
    },
    async requeueFailed(webhookId: string, since: number, now: number): Promise<number> {
      return sqlite.transaction(() => requeue.all(now, now, webhookId, since).length).immediate();
    },
    async rotateSecret(webhookId: string, secret: string, previousExpiresAt: number, now: number): Promise<void> {
      // previous_secret = secret copies the stored (possibly encrypted) value as it is.
      webhookChanged();
      rotate.run(previousExpiresAt, now, webhookId, secrets.encrypt(secret));
    },
  };
}
