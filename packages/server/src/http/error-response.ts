import { AppError, type ErrorCode } from "@session-bridge/shared";
import type { Logger } from "pino";

const statusByCode: Partial<Record<ErrorCode, number>> = {
  invalid_json: 400,
  invalid_request: 400,
  invalid_session_id: 400,
  invalid_repository: 400,
  invalid_ref: 400,
  invalid_search_path: 400,
  unsupported_file_url: 400,
  auth_disabled: 400,
  unauthorized: 401,
  invalid_api_key: 401,
  session_not_found: 404,
  memory_not_found: 404,
  tool_session_not_found: 404,
  not_found: 404,
  method_not_allowed: 405,
  session_busy: 409,
  tool_state_conflict: 409,
  payload_too_large: 413,
  rate_limited: 429,
  repository_unavailable: 502,
  request_timeout: 503,
  tool_failed: 500,
};

export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}

/**
 * The one place that turns an error into the contract's HTTP answer. Errors
 * the project raised on purpose keep their code and message; anything else is
 * logged and answered with a generic 500 that leaks nothing.
 */
export function toErrorResponse(error: unknown, logger: Logger): { status: number; body: ErrorBody } {
  if (AppError.isInstance(error)) {
    return { status: statusByCode[error.code] ?? 500, body: error.toJSON() };
  }
  logger.error({ err: error }, "unexpected error");
  return { status: 500, body: { error: { code: "internal_error", message: "Something went wrong on the server" } } };
}
