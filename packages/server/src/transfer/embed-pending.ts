import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { App } from "../app.ts";
import { pendingTable } from "../memory/vector-index.ts";

const batchSize = 64;

/**
 * Embeds one resource's pending messages (recorded before they were saved)
 * through the memory bridge and clears their pending rows, batch by batch,
 * reporting progress. The same work as the bridge's `indexPending()`, limited
 * to one user and counted for a progress line. A pending row whose message was
 * never saved (a crash in between) is dropped, as `indexPending()` does.
 * Returns how many messages were embedded.
 */
export async function embedPendingMessages(
  app: Pick<App, "memoryDatabase" | "memory">,
  resourceId: string,
  onProgress?: (progress: { done: number; total: number }) => void,
): Promise<number> {
  const { client } = app.memoryDatabase;
  const messageStore = await app.memory.storage.getStore("memory");
  if (!messageStore) throw new Error("Mastra's LibSQLStore has no memory domain");
  const counted = await client.execute({
    sql: `SELECT count(*) AS total FROM ${pendingTable} WHERE resource_id = ?`,
    args: [resourceId],
  });
  const total = Number(counted.rows[0]?.total ?? 0);
  let done = 0;
  let embedded = 0;
  onProgress?.({ done, total });
  for (;;) {
    const pending = await client.execute({
      sql: `SELECT message_id FROM ${pendingTable} WHERE resource_id = ? ORDER BY created_at, message_id LIMIT ?`,
      args: [resourceId, batchSize],
    });
    const ids = pending.rows.map((row) => String(row.message_id));
    if (ids.length === 0) return embedded;
    const found = await messageStore.listMessagesById({ messageIds: ids });
    await app.memory.indexStoredMessages(found.messages);
    embedded += found.messages.length;
    await client.execute({
      sql: `DELETE FROM ${pendingTable} WHERE message_id IN (${ids.map(() => "?").join(", ")})`,
      args: ids,
    });
    done += ids.length;
    onProgress?.({ done: Math.min(done, total), total: Math.max(done, total) });
    await yieldToEventLoop();
  }
}
