import { AppError } from "@session-bridge/shared";

export class ToolSessionNotFoundError extends AppError {
  readonly code = "tool_session_not_found";

  constructor(readonly toolSessionId: string) {
    super("Tool session not found");
  }
}

/** Another writer changed the tool's state since it was read. */
export class ToolStateConflictError extends AppError {
  readonly code = "tool_state_conflict";

  constructor(
    readonly toolSessionId: string,
    readonly expectedVersion: number,
  ) {
    super("The tool's state was changed by another call; read it again and retry");
  }
}

export class InvalidRepositoryError extends AppError {
  readonly code = "invalid_repository";
}

export class InvalidRefError extends AppError {
  readonly code = "invalid_ref";
}

export class InvalidSearchPathError extends AppError {
  readonly code = "invalid_search_path";
}

/** The repository could not be cloned or fetched; the message never contains credentials. */
export class RepositoryUnavailableError extends AppError {
  readonly code = "repository_unavailable";
}
