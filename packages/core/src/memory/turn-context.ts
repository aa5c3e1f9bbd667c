import type { ChatMessage } from "@session-bridge/shared";
import type { RecallResult } from "../ports/conversation-memory.ts";

export interface TurnContext {
  /** Standing instructions and earlier context, for the model's system prompt. */
  system: string | undefined;
  /** The session's recent history followed by the new user message. */
  messages: ChatMessage[];
}

const excerptLength = 500;

/**
 * Turns a recall into what the model sees: memories and recalled messages in
 * the system prompt (marked as earlier context, with their session), then the
 * recent history and the new message as messages.
 *
 * @example
 * const { system, messages } = buildTurnContext(recall, userMessage);
 * streamText({ model, system, messages: await convertToModelMessages(messages) });
 */
export function buildTurnContext(recall: RecallResult, newMessage: ChatMessage, sessionId?: string): TurnContext {
  const sections: string[] = [];
  const userMemories = recall.memories.filter((memory) => memory.scope === "user");
  const sessionMemories = recall.memories.filter((memory) => memory.scope === "session");
  if (userMemories.length > 0) {
    sections.push(
      `The user's standing instructions (apply to every conversation):\n${userMemories.map((memory) => `- ${memory.text}`).join("\n")}`,
    );
  }
  if (sessionMemories.length > 0) {
    sections.push(
      `Standing instructions for this conversation:\n${sessionMemories.map((memory) => `- ${memory.text}`).join("\n")}`,
    );
  }
  if (recall.recalled.length > 0) {
    const lines = recall.recalled.map((item) => {
      const origin = item.sessionId === sessionId ? "this conversation, earlier" : `conversation ${item.sessionId}`;
      return `- [${origin}] ${item.message.role}: ${excerpt(messageText(item.message), excerptLength)}`;
    });
    sections.push(
      `Earlier context recalled from memory (not part of the current exchange; use it only if relevant):\n${lines.join("\n")}`,
    );
  }
  const history = recall.recent.filter((message) => message.id !== newMessage.id);
  return { system: sections.length > 0 ? sections.join("\n\n") : undefined, messages: [...history, newMessage] };
}

/** The text parts of a message joined by spaces: what is embedded and searched. */
export function messageText(message: ChatMessage): string {
  return message.parts
    .flatMap((part) => (part.type === "text" ? [part.text] : []))
    .join(" ")
    .trim();
}

/** At most `length` characters, cut at the limit (never inside a surrogate pair). */
export function excerpt(text: string, length: number): string {
  if (text.length <= length) return text;
  const code = text.charCodeAt(length - 1);
  const end = code >= 0xd800 && code <= 0xdbff ? length - 1 : length;
  return `${text.slice(0, end)}…`;
}
