import { AppError, type ErrorBody, type ErrorStatus, errorCodes } from "@session-bridge/shared";
import type { Logger } from "pino";

export type { ErrorBody } from "@session-bridge/shared";

/**
 * The one place that turns an error into the contract's HTTP answer. Errors
 * the project raised on purpose keep their code and message and answer with
 * their code's status (`errorCodes`); anything else is logged and answered
 * with a generic 500 that leaks nothing.
 */
export function toErrorResponse(error: unknown, logger: Logger): { status: ErrorStatus; body: ErrorBody } {
  if (AppError.isInstance(error)) return { status: error.status, body: error.toJSON() };
  logger.error({ err: error }, "unexpected error");
  return {
    status: errorCodes.internal_error.status,
    body: { error: { code: "internal_error", message: "Something went wrong on the server" } },
  };
}
