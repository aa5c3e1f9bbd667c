import { messageText, type StoredMessage, type VectorStore } from "@session-bridge/core";
import { chunksToEmbed } from "./embedded-text.ts";

/**
 * Embeds stored messages (the bounded start of each, see `embeddingLimits`)
 * and upserts their vectors into `indexName`. Vector ids are
 * `<message key>#<chunk>`, so writing a message again replaces its vectors
 * instead of adding more. Returns how many vectors were written. `embed` is
 * asked once per user (`scope`: the messages' resource id).
 */
export async function writeMessageVectors(options: {
  vectors: VectorStore;
  indexName: string;
  embed: (texts: string[], scope: string) => Promise<number[][]>;
  messages: StoredMessage[];
}): Promise<number> {
  const entries = options.messages.flatMap((stored) =>
    chunksToEmbed(messageText(stored.message)).map((chunk, chunkIndex) => ({ stored, chunk, chunkIndex })),
  );
  if (entries.length === 0) return 0;
  const positions = new Map<string, number[]>();
  entries.forEach((entry, position) => {
    const of = positions.get(entry.stored.resourceId);
    if (of) of.push(position);
    else positions.set(entry.stored.resourceId, [position]);
  });
  const embedded: number[][] = new Array(entries.length);
  await Promise.all(
    [...positions].map(async ([scope, of]) => {
      const vectors = await options.embed(
        of.map((position) => (entries[position] as (typeof entries)[number]).chunk),
        scope,
      );
      of.forEach((position, index) => {
        embedded[position] = vectors[index] as number[];
      });
    }),
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
