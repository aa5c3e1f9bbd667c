import type { LibSQLVector } from "@mastra/libsql";
import { messageText, type StoredMessage } from "@session-bridge/core";
import { chunksToEmbed } from "./embedded-text.ts";
import type { VectorIndexInfo } from "./vector-index.ts";

/**
 * Embeds stored messages (the bounded start of each, see `embeddingLimits`)
 * and upserts their vectors into `index`. Vector ids are `<message key>#<chunk>`,
 * so writing a message again replaces its vectors instead of adding more.
 * Metadata uses Mastra's keys, so Mastra's own recall and thread deletion
 * understand these vectors too. Returns how many vectors were written.
 */
export async function writeMessageVectors(options: {
  vector: LibSQLVector;
  index: VectorIndexInfo;
  embed: (texts: string[]) => Promise<number[][]>;
  messages: StoredMessage[];
}): Promise<number> {
  const entries = options.messages.flatMap((stored) =>
    chunksToEmbed(messageText(stored.message)).map((chunk, chunkIndex) => ({ stored, chunk, chunkIndex })),
  );
  if (entries.length === 0) return 0;
  const vectors = await options.embed(entries.map((entry) => entry.chunk));
  await options.vector.upsert({
    indexName: options.index.indexName,
    vectors,
    ids: entries.map(({ stored, chunkIndex }) => `${stored.key}#${chunkIndex}`),
    metadata: entries.map(({ stored }) => ({
      message_id: stored.key,
      thread_id: stored.sessionId,
      resource_id: stored.resourceId,
      role: stored.message.role,
      created_at: stored.createdAt.toISOString(),
    })),
  });
  return entries.length;
}
