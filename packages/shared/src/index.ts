export type { AppErrorOptions, ErrorCode } from "./errors.ts";
export { AppError, InvalidRequestError, InvalidSessionIdError, SessionNotFoundError } from "./errors.ts";
export { isUuid, sessionIdSchema } from "./ids.ts";
