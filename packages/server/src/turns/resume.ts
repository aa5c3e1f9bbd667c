import type { UIMessageChunk } from "ai";
import type { TurnLog } from "../storage/turn-log.ts";

const pollMs = 40;

/**
 * A running turn's stream from its first chunk, read from the chunk log and
 * followed as it grows until the turn ends: every reader gets exactly the
 * chunks the turn's own client got, in order, whichever process runs it.
 */
export function followTurn(turnLog: TurnLog, turnId: string): ReadableStream<UIMessageChunk> {
  let seq = -1;
  let cancelled = false;
  return new ReadableStream<UIMessageChunk>({
    async pull(controller) {
      while (!cancelled) {
        // Status first, then the log: a turn seen ended has written all of its batches.
        const turn = await turnLog.get(turnId);
        const batches = await turnLog.read(turnId, seq);
        for (const batch of batches) {
          for (const chunk of batch.chunks) controller.enqueue(chunk);
          seq = batch.seq;
        }
        if (turn?.status !== "running") {
          controller.close();
          return;
        }
        if (batches.length > 0) return;
        await new Promise((resolve) => setTimeout(resolve, pollMs));
      }
    },
    cancel() {
      cancelled = true;
    },
  });
}
