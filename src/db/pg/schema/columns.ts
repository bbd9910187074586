import { customType } from "drizzle-orm/pg-core";

/**
 * Ids and other keys compared as bytes: time-sortable ids page by `id < cursor`, which must
 * order as SQLite's BINARY does, whatever collation the database was created with.
 */
export const keyText = customType<{ data: string }>({
  dataType() {
    return 'text COLLATE "C"';
  },
});
