/** The SQLite (extended) result code of a driver error, looking through wrappers such as DrizzleQueryError. */
export function sqliteErrorCode(error: unknown): string | undefined {
  for (let current = error; current instanceof Error; current = current.cause) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && code.startsWith("SQLITE_")) {
      const extended = (current as { extendedCode?: unknown }).extendedCode;
      return typeof extended === "string" ? extended : code;
    }
  }
  return undefined;
}

export function isForeignKeyViolation(error: unknown): boolean {
  return sqliteErrorCode(error) === "SQLITE_CONSTRAINT_FOREIGNKEY";
}

export function isUniqueViolation(error: unknown): boolean {
  const code = sqliteErrorCode(error);
  return code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY";
}
