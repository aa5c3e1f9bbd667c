import {
  AppError,
  type ChatMessage,
  clientIdSchema,
  InvalidRequestError,
  InvalidSessionIdError,
  sessionIdSchema,
} from "@session-bridge/shared";
import { safeValidateUIMessages } from "ai";
import { z } from "zod";

export class UnsupportedFileUrlError extends AppError {
  readonly code = "unsupported_file_url";

  constructor() {
    super("File parts must be data: URLs; the server never fetches a URL a client sent");
  }
}

/** `useChat`'s request body plus `sessionId`. */
export const chatBodySchema = z.object({
  id: clientIdSchema.optional().describe("useChat's chat id; the resume route accepts it too"),
  messages: z
    .array(z.unknown())
    .min(1, "messages must hold at least the new user message")
    .max(1000)
    .describe("UIMessage[]; only the last user message is new input"),
  trigger: z.enum(["submit-message", "regenerate-message"]).default("submit-message"),
  messageId: z.string().max(200).optional(),
  sessionId: z.string().nullable().optional().describe("absent or null: a new session"),
});

export interface ChatRequest {
  chatId: string | undefined;
  /** Lower-cased; `null` starts a new session. */
  sessionId: string | null;
  trigger: "submit-message" | "regenerate-message";
  /** The last user message: the only new input (history comes from memory). */
  userMessage: ChatMessage;
}

/**
 * Validates `useChat`'s request body plus `sessionId`, the whole `messages`
 * array with the AI SDK's own UI message validation.
 */
export async function parseChatRequest(body: unknown): Promise<ChatRequest> {
  const parsed = chatBodySchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join(".") || "body";
    throw new InvalidRequestError(`${field}: ${issue?.message ?? "invalid"}`, { field });
  }
  const { sessionId: rawSessionId, messages: rawMessages, trigger, id } = parsed.data;
  let sessionId: string | null = null;
  if (rawSessionId !== undefined && rawSessionId !== null) {
    const session = sessionIdSchema.safeParse(rawSessionId);
    if (!session.success) throw new InvalidSessionIdError(rawSessionId);
    sessionId = session.data;
  }
  const validated = await safeValidateUIMessages<ChatMessage>({ messages: rawMessages });
  if (!validated.success) {
    throw new InvalidRequestError(`messages: ${validated.error.message.split("\n")[0]}`, { field: "messages" });
  }
  const messages = validated.data;
  for (const message of messages) {
    for (const part of message.parts) {
      if (part.type === "file" && !part.url.startsWith("data:")) throw new UnsupportedFileUrlError();
    }
  }
  const position = messages.findLastIndex((message) => message.role === "user");
  const userMessage = messages[position];
  if (!userMessage) throw new InvalidRequestError("messages: no user message", { field: "messages" });
  // Its id names it in storage for good: no control characters, no lone surrogates, not empty.
  const messageId = clientIdSchema.safeParse(userMessage.id);
  if (!messageId.success) {
    const field = `messages.${position}.id`;
    throw new InvalidRequestError(`${field}: ${messageId.error.issues[0]?.message ?? "invalid"}`, { field });
  }
  return { chatId: id, sessionId, trigger, userMessage };
}
