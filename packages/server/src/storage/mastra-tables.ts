import type { MessageVector } from "@session-bridge/core";

// Mastra's tables (created by its LibSQLStore or PostgresStore, same names on both): the
// bridge reads and writes their rows itself, so that a message is stored exactly and at once.
export const messagesTable = "mastra_messages";
export const threadsTable = "mastra_threads";

/** A message vector's metadata, in the keys Mastra's own recall filters on. */
export function vectorMetadata(entry: MessageVector) {
  return {
    message_id: entry.key,
    thread_id: entry.sessionId,
    resource_id: entry.resourceId,
    role: entry.role,
    created_at: entry.createdAt.toISOString(),
  };
}
