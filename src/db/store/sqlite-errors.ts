// bun:sqlite raises SQLiteError with a `code` such as "SQLITE_CONSTRAINT_UNIQUE".
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return (
    typeof code === "string" &&
    (code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY")
  );
}

// Conditions of the storage, not of the request: the same call can succeed later.
const UNAVAILABLE = ["SQLITE_FULL", "SQLITE_IOERR", "SQLITE_READONLY", "SQLITE_BUSY", "SQLITE_CANTOPEN", "SQLITE_LOCKED"];

export function storageProblem(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return undefined;
  return UNAVAILABLE.some((c) => code === c || code.startsWith(`${c}_`)) ? code : undefined;
}
