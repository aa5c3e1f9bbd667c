const appErrorBrand = Symbol.for("session-bridge.app-error");

/**
 * Where a user meets an error code: as an HTTP answer (`http`), as the error
 * of a tool call the model, the stream and the trace see (`tool`), or as the
 * one-line failure of an `export` / `import` command (`cli`).
 */
export type ErrorSurface = "http" | "tool" | "cli";

interface ErrorCodeDefinition {
  /** The HTTP status; for `tool` and `cli` codes, the one they would have if a route raised them. */
  status: 400 | 401 | 404 | 405 | 409 | 413 | 429 | 500 | 502 | 503;
  surface: ErrorSurface;
  /** For the OpenAPI document and for readers: when a client gets this code. */
  description: string;
}

/**
 * Every error code this project raises on purpose, with its HTTP status: the
 * one table the error mapping, `AppError.status` and the OpenAPI document read.
 * Codes of the public contract (`{"error":{"code","message"}}`): clients may
 * switch on them, and they never change meaning.
 */
export const errorCodes = {
  invalid_json: { status: 400, surface: "http", description: "The request body is not valid JSON" },
  invalid_request: {
    status: 400,
    surface: "http",
    description: "The request failed validation; the message names the field",
  },
  invalid_session_id: {
    status: 400,
    surface: "http",
    description: "A session id that is not a UUIDv7 (in the path, the query or the body), before any lookup",
  },
  unsupported_file_url: {
    status: 400,
    surface: "http",
    description: "A file part whose URL is not a data: URL (the server never fetches a URL a client sent)",
  },
  auth_disabled: { status: 400, surface: "http", description: "A token was asked for while AUTH=none" },
  unauthorized: {
    status: 401,
    surface: "http",
    description: "No bearer token, or one that is unknown, expired or revoked",
  },
  invalid_api_key: { status: 401, surface: "http", description: "The API key is not valid" },
  session_not_found: {
    status: 404,
    surface: "http",
    description: "An unknown, expired, deleted or another user's session: the same answer for all of these",
  },
  memory_not_found: {
    status: 404,
    surface: "http",
    description: "An unknown or another user's memory: the same answer for both",
  },
  not_found: { status: 404, surface: "http", description: "No such route" },
  method_not_allowed: {
    status: 405,
    surface: "http",
    description: "The path does not answer this method; the Allow header lists those it does",
  },
  session_busy: { status: 409, surface: "http", description: "Another turn of the same session is running" },
  payload_too_large: { status: 413, surface: "http", description: "The request body is over 1,048,576 bytes" },
  rate_limited: {
    status: 429,
    surface: "http",
    description: "Too many failed token requests; Retry-After says when to try again",
  },
  server_busy: {
    status: 503,
    surface: "http",
    description:
      "Too many turns wait for the embedder (EMBED_QUEUE_LIMIT); nothing was stored; Retry-After says when to try again",
  },
  request_timeout: {
    status: 503,
    surface: "http",
    // The HTTP server itself answers 408 with this code to a client too slow to send its request.
    description: "The server did not start answering within REQUEST_TIMEOUT of the request's last byte",
  },
  internal_error: {
    status: 500,
    surface: "http",
    description: "Something the server did not raise on purpose; the details stay in its log",
  },
  invalid_repository: { status: 400, surface: "tool", description: "search_docs was given an unusable repository" },
  invalid_ref: { status: 400, surface: "tool", description: "search_docs was given an unusable git ref" },
  invalid_search_path: { status: 400, surface: "tool", description: "search_docs was given an unusable path" },
  tool_session_not_found: { status: 404, surface: "tool", description: "The tool session does not exist" },
  tool_state_conflict: {
    status: 409,
    surface: "tool",
    description: "Another call changed the tool's state since it was read",
  },
  repository_unavailable: {
    status: 502,
    surface: "tool",
    description: "The repository could not be cloned or fetched",
  },
  tool_failed: {
    status: 500,
    surface: "tool",
    description: "A tool failed in a way that is not one of ours; the model sees a safe message",
  },
  invalid_export_file: {
    status: 400,
    surface: "cli",
    description: "import: a line of the file breaks the format; nothing was imported",
  },
  user_not_found: { status: 404, surface: "cli", description: "export: no user with that id" },
  import_conflict: {
    status: 409,
    surface: "cli",
    description: "import: a record already exists here under another user or session; nothing was imported",
  },
} as const satisfies Record<string, ErrorCodeDefinition>;

export type ErrorCode = keyof typeof errorCodes;

/** The statuses errors are answered with; all of them carry the contract's JSON body. */
export type ErrorStatus = (typeof errorCodes)[ErrorCode]["status"];

/** The body of every error answer. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}

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
  /** When set, the answer's `Retry-After` header (seconds). */
  readonly retryAfterSeconds?: number;
  readonly [appErrorBrand] = true;

  constructor(message: string, options?: AppErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }

  static isInstance(error: unknown): error is AppError {
    return typeof error === "object" && error !== null && appErrorBrand in error;
  }

  /** The HTTP status of this error's code (see {@link errorCodes}), as hono's `HTTPException` carries its own. */
  get status(): ErrorStatus {
    return errorCodes[this.code].status;
  }

  /** The message of an error this project raised on purpose; `fallback` for anything else (internals stay hidden). */
  static safeMessage(error: unknown, fallback: string): string {
    return AppError.isInstance(error) ? error.message : fallback;
  }

  toJSON(): ErrorBody {
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

/** Too much work waits for the embedder: a new turn is refused before it stores anything. */
export class ServerBusyError extends AppError {
  readonly code = "server_busy";

  constructor(override readonly retryAfterSeconds: number) {
    super(`The server is busy; try again in ${retryAfterSeconds} s`);
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
