export type {
  ChatDataParts,
  ChatMessage,
  ChatMetadata,
  MessageStatus,
  MessageUsage,
  RecallChannel,
  RecallData,
  RecalledItem,
} from "./chat-message.ts";
export { chatMetadata, recallChannels, statusOf } from "./chat-message.ts";
export type { AppErrorOptions, ErrorBody, ErrorCode, ErrorStatus, ErrorSurface } from "./errors.ts";
export {
  AppError,
  errorCodes,
  InvalidJsonError,
  InvalidRequestError,
  InvalidSessionIdError,
  MemoryNotFoundError,
  MethodNotAllowedError,
  PayloadTooLargeError,
  RequestTimeoutError,
  RouteNotFoundError,
  ServerBusyError,
  SessionBusyError,
  SessionNotFoundError,
} from "./errors.ts";
export { isUuid, sessionIdSchema } from "./ids.ts";
export { cleanTextSchema, clientIdSchema, columnText, isCleanIdentifier, isCleanText } from "./text.ts";
