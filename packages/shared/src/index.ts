export type { AppErrorOptions, ErrorCode } from "./errors.ts";
export {
  AppError,
  InvalidJsonError,
  InvalidRequestError,
  InvalidSessionIdError,
  MethodNotAllowedError,
  PayloadTooLargeError,
  RouteNotFoundError,
  SessionBusyError,
  SessionNotFoundError,
} from "./errors.ts";
export { isUuid, sessionIdSchema } from "./ids.ts";
