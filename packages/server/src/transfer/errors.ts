import { AppError } from "@session-bridge/shared";

// The errors of `export` and `import`. They are command-line failures (exit
// code 1, the message as the one line on stderr) and never an HTTP answer;
// their codes sit in the shared `errorCodes` table with the status a route
// raising them would answer: 400 for a bad file, 404 for an unknown user,
// 409 for a record owned by someone else.

/** An export file that cannot be imported: nothing was written. */
export class ExportFileError extends AppError {
  readonly code = "invalid_export_file";

  constructor(
    readonly file: string,
    readonly line: number,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}, line ${line}: ${reason}; nothing was imported`, options);
  }
}

/** `export <userId>` for a user this machine does not know. */
export class UnknownUserError extends AppError {
  readonly code = "user_not_found";

  constructor(readonly userId: string) {
    super(`no user with id ${userId} (session-bridge users list shows them; "local" is the AUTH=none user)`);
  }
}

/** A record of the file already exists here under another user: importing it would hand it over. */
export class ImportConflictError extends AppError {
  readonly code = "import_conflict";

  constructor(
    readonly recordType: "session" | "memory" | "tool_session",
    readonly id: string,
    readonly line: number,
  ) {
    super(
      `line ${line}: ${recordType.replace("_", " ")} ${id} already exists here under another user or session; nothing was imported`,
    );
  }
}
