import type { MastraDBMessage } from "@mastra/core/agent/message-list";
import type { LibSQLVector } from "@mastra/libsql";
import { chunkText, storedMessageText } from "./message-format.ts";
import type { VectorIndexInfo } from "./vector-index.ts";

/**
 * Embeds stored messages and upserts their vectors into `index`. Vector ids are
 * `<message id>#<chunk>`, so writing a message again replaces its vectors
 * instead of adding more. Metadata uses Mastra's keys, so Mastra's own recall
 * and thread deletion understand these vectors too.
 */
export async function writeMessageVectors(options: {
  vector: LibSQLVector;
  index: VectorIndexInfo;
  embed: (texts: string[]) => Promise<number[][]>;
  messages: MastraDBMessage[];
}): Promise<number> {
  const entries = options.messages.flatMap((message) => {
    const text = storedMessageText(message);
    return text ? chunkText(text).map((chunk, chunkIndex) => ({ message, chunk, chunkIndex })) : [];
  });
  if (entries.length === 0) return 0;
  const vectors = await options.embed(entries.map((entry) => entry.chunk));
  await options.vector.upsert({
    indexName: options.index.indexName,
    vectors,
    ids: entries.map(({ message, chunkIndex }) => `${message.id}#${chunkIndex}`),
    metadata: entries.map(({ message }) => ({
      message_id: message.id,
      thread_id: message.threadId,
      resource_id: message.resourceId,
      role: message.role,
      created_at: new Date(message.createdAt).toISOString(),
    })),
  });
  return entries.length;
}
