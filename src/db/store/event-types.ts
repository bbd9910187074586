import { asc, eq } from "drizzle-orm";
import type { EventTypeRecord, WriteResult } from "../../domain/store.ts";
import { eventTypes } from "../schema/index.ts";
import { isUniqueViolation } from "./sqlite-errors.ts";
import type { Db } from "./types.ts";

export function eventTypeQueries(db: Db) {
  return {
    async listEventTypes(): Promise<EventTypeRecord[]> {
      return db.select().from(eventTypes).orderBy(asc(eventTypes.name)).all();
    },
    async getEventType(name: string): Promise<EventTypeRecord | undefined> {
      return db.select().from(eventTypes).where(eq(eventTypes.name, name)).get();
    },
    async insertEventType(record: EventTypeRecord): Promise<WriteResult> {
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
      changes: Partial<Pick<EventTypeRecord, "description" | "schema" | "archived">>,
      at: number,
    ): Promise<EventTypeRecord | undefined> {
      return db
        .update(eventTypes)
        .set({ ...changes, updatedAt: at })
        .where(eq(eventTypes.name, name))
        .returning()
        .get();
    },
    async upsertEventTypes(records: EventTypeRecord[]): Promise<void> {
      if (records.length === 0) return;
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
