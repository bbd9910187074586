import type { BunSQLiteDatabase } from "drizzle-orm/bun-sqlite";
import type * as schema from "../schema/index.ts";

export type Db = BunSQLiteDatabase<typeof schema>;
