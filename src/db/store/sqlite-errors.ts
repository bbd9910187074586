// bun:sqlite raises SQLiteError with a `code` such as "SQLITE_CONSTRAINT_UNIQUE".
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return (
    typeof code === "string" &&
    (code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY")
  );
}
