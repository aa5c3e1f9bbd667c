import { type ChatMessage, chatMetadata } from "@session-bridge/shared";
import type { MemoryBridge } from "../memory/memory-bridge.ts";
import type { LiveTurn } from "./live-turn.ts";
import type { TurnDependencies } from "./turn-effects.ts";

/**
 * A turn's last work, once its stream has been read to the end: a failed
 * turn's partial answer kept (labelled `failed`), then one write that ends the
 * turn with the chunk log's last batch, its trace and usage, and releases its
 * lease. Never throws: every step is logged and the next one still runs (if the
 * end cannot be written, the turn's lease expires and the next turn recovers it).
 */
export async function finishTurn(
  dependencies: Pick<TurnDependencies, "turnLog" | "memory" | "modelId">,
  turn: LiveTurn,
): Promise<void> {
  const { logger } = turn;
  const session = turn.session;
  if (!session) return;
  turn.releaseBackgroundWork();
  // The chunk log is for resuming: losing a batch is logged, never fatal to the turn.
  const lastBatch = await turn.recorder
    ?.finish()
    .catch((error) => logger.error({ err: error }, "chunk log write failed"));
  try {
    if (turn.outcome === "failed" && turn.stepSaved) {
      // Keep what the failed turn had said, labelled.
      const partial = await turn.recorder?.message();
      if (partial) await savePartial(dependencies.memory, turn, partial, "failed", dependencies.modelId);
    }
  } catch (error) {
    logger.error({ err: error }, "the failed turn's partial answer could not be saved");
  }
  const end = {
    turnId: turn.turnId,
    status: turn.outcome === "interrupted" ? ("failed" as const) : turn.outcome,
    ...(lastBatch ? { lastBatch } : {}),
    ...(turn.trace ? { trace: { sessionId: session.id, trace: turn.trace } } : {}),
    ...(turn.usage ? { usage: { resourceId: turn.resourceId, model: dependencies.modelId, ...turn.usage } } : {}),
    lease: { sessionId: session.id, leaseId: turn.leaseId },
  };
  // Tried twice (a busy file or a dropped connection passes). If the end still cannot be
  // written, the lease is left to expire rather than released: the turn is still `running`
  // in the log, and the next turn of the session must see a takeover and recover it first.
  for (const attempt of [1, 2]) {
    try {
      // A first attempt may have committed before its answer was lost: then the turn is no
      // longer running, and writing its end again would count its usage twice.
      if (attempt > 1 && (await dependencies.turnLog.get(turn.turnId))?.status !== "running") return;
      await dependencies.turnLog.end(end);
      return;
    } catch (error) {
      logger.error({ err: error, attempt }, "turn could not be finalized");
    }
  }
}

/**
 * The answer as far as it got, under the server's message id: `failed` when
 * its turn failed, or `running` for a step saved while the turn goes on
 * (hidden from reads, and labelled as it would stand if the turn never
 * finished: `interrupted`).
 */
export function savePartial(
  memory: MemoryBridge,
  turn: LiveTurn,
  message: ChatMessage,
  state: "failed" | "running",
  modelId: string,
): Promise<void> {
  const session = turn.session;
  if (!session) return Promise.resolve();
  const status = state === "running" ? "interrupted" : "failed";
  return memory.save({
    sessionId: session.id,
    resourceId: turn.resourceId,
    messages: [
      {
        ...message,
        id: turn.assistantId,
        role: "assistant",
        metadata: chatMetadata(session.id, modelId, status, { inputTokens: 0, outputTokens: 0 }),
      },
    ],
    index: "later",
    running: state === "running",
  });
}
