import { messageText, type StoredMessage, type VectorStore } from "@session-bridge/core";
import { chunksToEmbed } from "./embedded-text.ts";

/**
 * Embeds stored messages (the bounded start of each, see `embeddingLimits`)
 * and upserts their vectors into `indexName`. Vector ids are
 * `<message key>#<chunk>`, so writing a message again replaces its vectors
 * instead of adding more. Returns how many vectors were written. `embed` gets
 * the chunks and, beside them, the resource id of each chunk's message.
 */
export async function writeMessageVectors(options: {
  vectors: VectorStore;
  indexName: string;
  embed: (texts: string[], scopes: string[]) => Promise<number[][]>;
  messages: StoredMessage[];
}): Promise<number> {
  const entries = options.messages.flatMap((stored) =>
    chunksToEmbed(messageText(stored.message)).map((chunk, chunkIndex) => ({ stored, chunk, chunkIndex })),
  );
  if (entries.length === 0) return 0;
  const embedded = await options.embed(
    entries.map((entry) => entry.chunk),
    entries.map((entry) => entry.stored.resourceId),
  );
  await options.vectors.upsert(
    options.indexName,
    entries.map(({ stored, chunkIndex }, position) => ({
      id: `${stored.key}#${chunkIndex}`,
      vector: embedded[position] as number[],
      key: stored.key,
      sessionId: stored.sessionId,
      resourceId: stored.resourceId,
      role: stored.message.role,
      createdAt: stored.createdAt,
    })),
  );
  return entries.length;
}
