import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { Clock, IndexPendingOptions, MessageStore, PendingMessage, VectorStore } from "@session-bridge/core";
import { writeMessageVectors } from "./message-vectors.ts";

/** A pending row without its message is a save in progress for this long, then a crash's leftover. */
const pendingGraceMs = 60_000;

/**
 * Embeds the messages saved for later (`save({ index: "later" })`, imports, a
 * crash's leftovers) from the pending table, in keyset pages of 64.
 *
 * @example
 * const { indexPending } = createPendingIndexer({ messages, vectors, indexName, embed, clock });
 * await indexPending(); // after a turn's `finish`
 */
export function createPendingIndexer(options: {
  messages: MessageStore;
  vectors: VectorStore;
  indexName: string;
  embed: (texts: string[], scopes: string[]) => Promise<number[][]>;
  clock: Clock;
}): { indexPending(request?: IndexPendingOptions): Promise<number> } {
  const { messages, vectors, indexName, embed, clock } = options;

  // Every turn asks for the pending work after its `finish`; one pass at a time does
  // it all (a pass reads every pending row, so concurrent passes would embed and write
  // the same messages over and over).
  let pass: Promise<number> | undefined;
  let nextPass: Promise<number> | undefined;

  /** A pass over all pending work that starts after this call: the rows saved so far are in it. */
  function indexAllPending(): Promise<number> {
    if (!pass) {
      pass = indexPendingOnce().finally(() => {
        pass = undefined;
      });
      return pass;
    }
    nextPass ??= pass
      .catch(() => 0)
      .then(() => {
        nextPass = undefined;
        return indexAllPending();
      });
    return nextPass;
  }

  function indexPending(request: IndexPendingOptions = {}): Promise<number> {
    return request.resourceId === undefined && request.onProgress === undefined
      ? indexAllPending()
      : indexPendingOnce(request);
  }

  async function indexPendingOnce(request: IndexPendingOptions = {}): Promise<number> {
    const { resourceId, onProgress } = request;
    const total = onProgress ? await messages.countPending(resourceId) : 0;
    onProgress?.({ done: 0, total });
    let done = 0;
    let embedded = 0;
    let after: PendingMessage | null = null;
    const now = clock.now().getTime();
    for (;;) {
      // Keyset paging: rows left pending (a message still being saved) are passed over, not re-read.
      const rows = await messages.listPending({
        after,
        limit: 64,
        ...(resourceId === undefined ? {} : { resourceId }),
      });
      const last = rows.at(-1);
      if (!last) return embedded;
      after = last;
      const found = await messages.getByKeys(rows.map((row) => row.key));
      await writeMessageVectors({ vectors, indexName, embed, messages: found });
      // A session deleted while its messages were embedded takes their vectors with it.
      const kept = new Set((await messages.getByKeys(found.map((stored) => stored.key))).map((stored) => stored.key));
      await vectors.deleteForMessages(found.filter((stored) => !kept.has(stored.key)).map((stored) => stored.key));
      const foundKeys = new Set(found.map((stored) => stored.key));
      // Done: rows whose message was embedded as read (a newer save renewed its row
      // and stays pending), and rows of messages that never came (a crash between
      // the row and the save), once they are old enough not to be a save in progress.
      await messages.clearPending(rows.filter((row) => foundKeys.has(row.key) || row.savedAt < now - pendingGraceMs));
      embedded += found.length;
      done += rows.length;
      onProgress?.({ done: Math.min(done, total), total: Math.max(done, total) });
      await yieldToEventLoop();
    }
  }

  return { indexPending };
}
