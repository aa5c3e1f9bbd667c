/** An export file that cannot be imported: nothing was written. */
export class ExportFileError extends Error {
  readonly code = "invalid_export_file";

  constructor(
    readonly file: string,
    readonly line: number,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}, line ${line}: ${reason}; nothing was imported`, options);
    this.name = "ExportFileError";
  }
}

/** `export <userId>` for a user this machine does not know. */
export class UnknownUserError extends Error {
  readonly code = "user_not_found";

  constructor(readonly userId: string) {
    super(`no user with id ${userId} (session-bridge users list shows them; "local" is the AUTH=none user)`);
    this.name = "UnknownUserError";
  }
}

/** A record of the file already exists here under another user: importing it would hand it over. */
export class ImportConflictError extends Error {
  readonly code = "import_conflict";

  constructor(
    readonly recordType: "session" | "memory" | "tool_session",
    readonly id: string,
    readonly line: number,
  ) {
    super(
      `line ${line}: ${recordType.replace("_", " ")} ${id} already exists here under another user or session; nothing was imported`,
    );
    this.name = "ImportConflictError";
  }
}
