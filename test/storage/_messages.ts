import type { MessageStore, StoredMessage } from "@session-bridge/core";
import type { ChatMessage } from "@session-bridge/shared";
import { v7 as uuidv7 } from "uuid";
import { toStoredId } from "../../packages/server/src/memory/stored-ids.ts";

/** When the suites' conversations happen; message `n` of a test is `n` seconds later. */
export const start = new Date("2026-01-01T00:00:00.000Z").getTime();
export const at = (second: number) => new Date(start + second * 1000);

export const userMessage = (id: string, text: string): ChatMessage => ({
  id,
  role: "user",
  parts: [{ type: "text", text }],
});

/** A session's thread in the message store, with a maker of its stored messages. */
export async function makeThread(messages: MessageStore, resourceId = "alice") {
  const sessionId = uuidv7();
  await messages.createThread({ id: sessionId, resourceId, title: "", createdAt: at(0) });
  return {
    sessionId,
    resourceId,
    /** The message as the bridge stores it: keyed by session and client id. */
    stored: (message: ChatMessage, createdAt: Date, running = false): StoredMessage => ({
      key: toStoredId(sessionId, message.id),
      sessionId,
      resourceId,
      createdAt,
      message,
      ...(running ? { running } : {}),
    }),
  };
}

/** What a reader sees of a stored message, `running` as a plain flag (absent and `false` are the same). */
export const seen = (stored: StoredMessage) => ({
  key: stored.key,
  sessionId: stored.sessionId,
  resourceId: stored.resourceId,
  createdAt: stored.createdAt,
  message: stored.message,
  running: stored.running === true,
});

export const byTime = (a: StoredMessage, b: StoredMessage) =>
  a.createdAt.getTime() - b.createdAt.getTime() || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
