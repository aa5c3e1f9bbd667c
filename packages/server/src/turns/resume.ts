import type { TurnLog } from "@session-bridge/core";
import type { UIMessageChunk } from "ai";

const pollMs = 40;
/** Idle polls between checks that the turn's process is still alive. */
const pollsPerLivenessCheck = 50;

/**
 * A running turn's stream from its first chunk, read from the chunk log and
 * followed as it grows until the turn ends: every reader gets exactly the
 * chunks the turn's own client got, in order, whichever process runs it.
 */
export function followTurn(
  turnLog: TurnLog,
  turnId: string,
  /** Called every couple of idle seconds: recovers the turn if its process died, which ends the stream. */
  checkAlive: () => Promise<unknown>,
): ReadableStream<UIMessageChunk> {
  let seq = -1;
  let idlePolls = 0;
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
        if (++idlePolls % pollsPerLivenessCheck === 0) await checkAlive();
        await new Promise((resolve) => setTimeout(resolve, pollMs));
      }
    },
    cancel() {
      cancelled = true;
    },
  });
}
