import { failedTrace, type TurnEnding, type TurnLog } from "@session-bridge/core";
import { type ChatMessage, chatMetadata } from "@session-bridge/shared";
import type { Logger } from "pino";
import type { MemoryBridge } from "../memory/memory-bridge.ts";
import type { LiveTurn } from "./live-turn.ts";
import type { TurnDependencies } from "./turn-effects.ts";

/** What the client is told when a finished turn's answer could not be saved. */
export const answerNotSaved = "The answer could not be saved; the turn can be retried.";

/** How a turn's last work went, for its stream and its after-work. */
export interface FinishedTurn {
  /** The answer was not saved: the stream ends with an `error` part carrying this. */
  failure?: string;
  /** The chunk log must stay: it holds an answer that memory lacks (recovery saves it from there). */
  keepLog: boolean;
}

/**
 * A turn's last work, once its stream has been read to the end: a failed
 * turn's partial answer kept (labelled `failed`), then one write that ends the
 * turn with the chunk log's last batch, its trace and usage, and releases its
 * lease, while the answer's save begun by `saveTurn` goes on (two files, at
 * once). If that save fails, the turn is recorded failed after all (keeping
 * what a saved step showed, as a failed turn does). Never throws: every
 * step is logged and the next one still runs (if the end cannot be written,
 * the turn's lease expires and the next turn recovers it).
 */
export async function finishTurn(
  dependencies: Pick<TurnDependencies, "turnLog" | "memory" | "modelId">,
  turn: LiveTurn,
): Promise<FinishedTurn> {
  const { logger } = turn;
  const session = turn.session;
  if (!session) return { keepLog: false };
  turn.releaseBackgroundWork();
  // The chunk log is for resuming: losing a batch is logged, never fatal to the turn.
  const lastBatch = await turn.recorder
    ?.finish()
    .catch((error) => logger.error({ err: error }, "chunk log write failed"));
  if (turn.outcome === "failed" && !turn.answerSaved) await keepPartial(dependencies, turn);
  const trace = turn.trace && { sessionId: session.id, trace: turn.trace };
  const end = {
    turnId: turn.turnId,
    status: turn.outcome === "interrupted" ? ("failed" as const) : turn.outcome,
    ...(lastBatch ? { lastBatch } : {}),
    ...(trace ? { trace } : {}),
    ...(turn.usage ? { usage: { resourceId: turn.resourceId, model: dependencies.modelId, ...turn.usage } } : {}),
    lease: { sessionId: session.id, leaseId: turn.leaseId },
  };
  const [ended, saveError] = await Promise.all([
    writeEnd(dependencies.turnLog, end, logger),
    turn.answerSaved?.then(
      () => undefined,
      (error: unknown) => error ?? new Error("the answer's save failed"),
    ),
  ]);
  if (saveError === undefined) return { keepLog: false };
  logger.error({ err: saveError }, "the answer could not be saved; the turn is recorded as failed");
  if (!ended || !trace) return { failure: answerNotSaved, keepLog: true };
  await keepPartial(dependencies, turn);
  try {
    await dependencies.turnLog.markFailed(turn.turnId, { sessionId: session.id, trace: failedTrace(trace.trace) });
    return { failure: answerNotSaved, keepLog: false };
  } catch (error) {
    // Still `complete` in the log, its whole answer in the chunk log: recovery saves it from there.
    logger.error({ err: error }, "the turn could not be recorded as failed");
    return { failure: answerNotSaved, keepLog: true };
  }
}

/** Keeps what a failed turn had said, labelled `failed`, when a step of it was saved (else nothing of it is stored). */
async function keepPartial(dependencies: Pick<TurnDependencies, "memory" | "modelId">, turn: LiveTurn): Promise<void> {
  if (!turn.stepSaved) return;
  try {
    const partial = await turn.recorder?.message();
    if (partial) await savePartial(dependencies.memory, turn, partial, "failed", dependencies.modelId);
  } catch (error) {
    turn.logger.error({ err: error }, "the failed turn's partial answer could not be saved");
  }
}

/**
 * Writes the turn's end, tried twice (a busy file or a dropped connection
 * passes). True once it is written. If it still cannot be, the lease is left to
 * expire rather than released: the turn is still `running` in the log, and
 * the next turn of the session must see a takeover and recover it first.
 */
async function writeEnd(turnLog: TurnLog, end: TurnEnding, logger: Logger): Promise<boolean> {
  for (const attempt of [1, 2]) {
    try {
      // A first attempt may have committed before its answer was lost: then the turn is no
      // longer running, and writing its end again would count its usage twice.
      if (attempt > 1 && (await turnLog.get(end.turnId))?.status !== "running") return true;
      await turnLog.end(end);
      return true;
    } catch (error) {
      logger.error({ err: error, attempt }, "turn could not be finalized");
    }
  }
  return false;
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
