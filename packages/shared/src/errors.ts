const appErrorBrand = Symbol.for("session-bridge.app-error");

/**
 * Error codes of the public contract (`{"error":{"code","message"}}`).
 * Clients may switch on these; they never change meaning.
 */
export type ErrorCode =
  | "invalid_json"
  | "invalid_request"
  | "invalid_session_id"
  | "invalid_repository"
  | "invalid_ref"
  | "invalid_search_path"
  | "repository_unavailable"
  | "unsupported_file_url"
  | "unauthorized"
  | "invalid_api_key"
  | "auth_disabled"
  | "session_not_found"
  | "memory_not_found"
  | "tool_session_not_found"
  | "tool_state_conflict"
  | "session_busy"
  | "not_found"
  | "method_not_allowed"
  | "payload_too_large"
  | "rate_limited"
  | "request_timeout"
  | "tool_failed"
  | "internal_error";

export interface AppErrorOptions {
  cause?: unknown;
}

/**
 * Base of every error this project raises on purpose. `message` is safe to show
 * to the client that caused it; internals stay in `cause`.
 *
 * Recognised across copies of the package with {@link AppError.isInstance}
 * (a `Symbol.for` brand) rather than `instanceof`.
 */
export abstract class AppError extends Error {
  abstract readonly code: ErrorCode;
  readonly [appErrorBrand] = true;

  constructor(message: string, options?: AppErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }

  static isInstance(error: unknown): error is AppError {
    return typeof error === "object" && error !== null && appErrorBrand in error;
  }

  /** The message of an error this project raised on purpose; `fallback` for anything else (internals stay hidden). */
  static safeMessage(error: unknown, fallback: string): string {
    return AppError.isInstance(error) ? error.message : fallback;
  }

  toJSON(): { error: { code: ErrorCode; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}

export class InvalidRequestError extends AppError {
  readonly code = "invalid_request";
  readonly field: string | undefined;

  constructor(message: string, options?: AppErrorOptions & { field?: string }) {
    super(message, options);
    this.field = options?.field;
  }
}

export class InvalidSessionIdError extends AppError {
  readonly code = "invalid_session_id";

  constructor(readonly sessionId: string) {
    super("sessionId must be a UUIDv7, as the server makes them");
  }
}

/** The same answer for unknown, expired, deleted and other users' sessions. */
export class SessionNotFoundError extends AppError {
  readonly code = "session_not_found";

  constructor(readonly sessionId: string) {
    super("Session not found");
  }
}

export class InvalidJsonError extends AppError {
  readonly code = "invalid_json";

  constructor() {
    super("The request body is not valid JSON");
  }
}

export class PayloadTooLargeError extends AppError {
  readonly code = "payload_too_large";

  constructor(readonly limitBytes: number) {
    super(`The request body is larger than ${limitBytes} bytes`);
  }
}

export class RouteNotFoundError extends AppError {
  readonly code = "not_found";

  constructor() {
    super("No such route");
  }
}

export class MethodNotAllowedError extends AppError {
  readonly code = "method_not_allowed";

  constructor(
    readonly method: string,
    readonly allowed: string[],
  ) {
    super(`${method} is not allowed here; use ${allowed.join(" or ")}`);
  }
}

/** Another turn of the same session is running. */
export class SessionBusyError extends AppError {
  readonly code = "session_busy";

  constructor(readonly sessionId: string) {
    super("Another turn of this session is running; wait for it to finish or stop it");
  }
}

/** The same answer for unknown memories and other users' memories. */
export class MemoryNotFoundError extends AppError {
  readonly code = "memory_not_found";

  constructor(readonly memoryId: string) {
    super("Memory not found");
  }
}

/** The server gave up on a request that took too long. */
export class RequestTimeoutError extends AppError {
  readonly code = "request_timeout";

  constructor(readonly limitMs: number) {
    super(`The request took longer than ${Math.round(limitMs / 1000)} s and was abandoned; try again`);
  }
}
