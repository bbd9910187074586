import { asc, eq, sql } from "drizzle-orm";
import type { EventTypeChanges, EventTypeRecord, WriteResult } from "../../domain/store.ts";
import { eventTypes } from "../schema/index.ts";
import { isUniqueViolation } from "./sqlite-errors.ts";
import { TtlCache } from "./cache.ts";
import type { Db } from "./types.ts";

export function eventTypeQueries(db: Db) {
  // Every publish reads its type; types change rarely, and only through this process.
  const byName = db
    .select()
    .from(eventTypes)
    .where(eq(eventTypes.name, sql.placeholder("name")))
    .prepare();
  const cache = new TtlCache<EventTypeRecord | undefined>(5_000, 1_000);
  return {
    async listEventTypes(): Promise<EventTypeRecord[]> {
      return db.select().from(eventTypes).orderBy(asc(eventTypes.name)).all();
    },
    async getEventType(name: string): Promise<EventTypeRecord | undefined> {
      return cache.get(name, () => byName.get({ name }));
    },
    async insertEventType(record: EventTypeRecord): Promise<WriteResult> {
      cache.clear();
      try {
        db.insert(eventTypes).values(record).run();
        return { ok: true };
      } catch (err) {
        if (isUniqueViolation(err)) return { ok: false, reason: "duplicate" };
        throw err;
      }
    },
    async updateEventType(
      name: string,
      changes: EventTypeChanges,
      at: number,
    ): Promise<EventTypeRecord | undefined> {
      cache.clear();
      return db
        .update(eventTypes)
        .set({ ...changes, updatedAt: at })
        .where(eq(eventTypes.name, name))
        .returning()
        .get();
    },
    async upsertEventTypes(records: EventTypeRecord[]): Promise<void> {
      if (records.length === 0) return;
      cache.clear();
      db.transaction((tx) => {
        for (const r of records) {
          // A type declared in the file is un-archived: the file is the operator's statement
          // that the type exists. Its created_at stays what it was.
          tx.insert(eventTypes)
            .values(r)
            .onConflictDoUpdate({
              target: eventTypes.name,
              set: {
                description: r.description,
                schema: r.schema,
                payloadFormat: r.payloadFormat,
                archived: false,
                updatedAt: r.updatedAt,
              },
            })
            .run();
        }
      });
    },
  };
}
