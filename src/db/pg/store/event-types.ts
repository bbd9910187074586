// Event types on PostgreSQL. Every publish reads its type, so getEventType is cached for at most
// CACHE_MS (a change through another replica applies everywhere within 1 s, API.md §11); this
// replica's writes clear the cache once they have committed.
import type { EventTypeChanges, EventTypeRecord, WriteResult } from "../../../domain/store.ts";
import { sqlState } from "../client.ts";
import { AsyncTtlCache, CACHE_MS, type PgContext } from "../context.ts";
import { type EventTypeRow, schemaText, toEventType } from "../rows.ts";

export function pgEventTypeQueries(ctx: PgContext) {
  const { client } = ctx;
  const byName = new AsyncTtlCache<EventTypeRecord | undefined>(CACHE_MS, 1_000);

  async function load(name: string): Promise<EventTypeRecord | undefined> {
    const [row] = await client.query<EventTypeRow>("SELECT * FROM event_types WHERE name = $1", [name]);
    return row ? toEventType(row) : undefined;
  }

  return {
    async listEventTypes(): Promise<EventTypeRecord[]> {
      // name is COLLATE "C": the byte order SQLite's list has.
      const rows = await client.query<EventTypeRow>("SELECT * FROM event_types ORDER BY name");
      return rows.map(toEventType);
    },
    getEventType(name: string): Promise<EventTypeRecord | undefined> {
      return byName.get(name, () => load(name));
    },
    async insertEventType(r: EventTypeRecord): Promise<WriteResult> {
      try {
        await client.query(
          `INSERT INTO event_types (name, description, schema, payload_format, archived, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7)`,
          [r.name, r.description, schemaText(r.schema), r.payloadFormat, r.archived, r.createdAt, r.updatedAt],
        );
        return { ok: true };
      } catch (err) {
        if (sqlState(err) === "23505") return { ok: false, reason: "duplicate" };
        throw err;
      } finally {
        byName.clear();
      }
    },
    async updateEventType(name: string, changes: EventTypeChanges, at: number): Promise<EventTypeRecord | undefined> {
      const args: unknown[] = [name, at];
      const set = ["updated_at = $2"];
      if (changes.description !== undefined)
        args.push(changes.description) && set.push(`description = $${args.length}`);
      // null clears the schema; undefined leaves it.
      if (changes.schema !== undefined) args.push(schemaText(changes.schema)) && set.push(`schema = $${args.length}`);
      // null: back to delivery.payload_format; undefined leaves it.
      if (changes.payloadFormat !== undefined)
        args.push(changes.payloadFormat) && set.push(`payload_format = $${args.length}`);
      if (changes.archived !== undefined) args.push(changes.archived) && set.push(`archived = $${args.length}`);
      try {
        const [row] = await client.query<EventTypeRow>(
          `UPDATE event_types SET ${set.join(", ")} WHERE name = $1 RETURNING *`,
          args,
        );
        return row ? toEventType(row) : undefined;
      } finally {
        byName.clear();
      }
    },
    async upsertEventTypes(records: EventTypeRecord[]): Promise<void> {
      if (records.length === 0) return;
      // In name order: replicas starting together upsert the same rows, and taking the row locks
      // in one order means they wait for each other instead of deadlocking.
      const sorted = [...records].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      try {
        await client.transaction(async (tx) => {
          for (const r of sorted) {
            // A type declared in the file is un-archived: the file is the operator's statement
            // that the type exists. Its created_at stays what it was.
            await tx.query(
              `INSERT INTO event_types (name, description, schema, payload_format, archived, created_at, updated_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7)
               ON CONFLICT (name) DO UPDATE SET description = EXCLUDED.description, schema = EXCLUDED.schema,
                 payload_format = EXCLUDED.payload_format, archived = false, updated_at = EXCLUDED.updated_at`,
              [r.name, r.description, schemaText(r.schema), r.payloadFormat, r.archived, r.createdAt, r.updatedAt],
            );
          }
        });
      } finally {
        byName.clear();
      }
    },
  };
}
