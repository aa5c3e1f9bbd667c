import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { LanguageModelV4 } from "@ai-sdk/provider";
import {
  type Clock,
  type IdGenerator,
  messageText,
  runTurn,
  type Session,
  type SessionStore,
  type TraceStore,
  type TurnActor,
  type TurnLog,
  turnActors,
  turnMachine,
} from "@session-bridge/core";
import { AppError, type ChatMessage, ServerBusyError } from "@session-bridge/shared";
import { createUIMessageStream, type UIMessageChunk, type UIMessageStreamWriter } from "ai";
import type { Logger } from "pino";
import { createActor, waitFor } from "xstate";
import type { MemoryBridge } from "../memory/memory-bridge.ts";
import type { ChatToolDependencies } from "../tools/chat-tools.ts";
import type { ChatRequest } from "./chat-request.ts";
import { type FinishedTurn, finishTurn, savePartial } from "./finish-turn.ts";
import { safeFailure } from "./generate-answer.ts";
import { createLiveTurn, type LiveTurn } from "./live-turn.ts";
import { createTurnRecovery } from "./recovery.ts";
import { relayTurn } from "./relay-turn.ts";
import { replayStream } from "./replay.ts";
import { followTurn } from "./resume.ts";
import { createStreamRecorder } from "./stream-recorder.ts";
import { createTurnEffects, type TurnDependencies } from "./turn-effects.ts";
import { createTurnLease } from "./turn-lease.ts";

export interface TurnRunnerOptions {
  /** Sessions with their memory threads. */
  sessions: SessionStore;
  memory: MemoryBridge;
  traces: TraceStore;
  turnLog: TurnLog;
  tools: ChatToolDependencies;
  model: LanguageModelV4;
  modelId: string;
  clock: Clock;
  generateId: IdGenerator;
  logger: Logger;
  /** Tool-calling steps per turn. */
  maxSteps?: number;
  /**
   * Crash safety: the user message saved as the turn starts, each finished step
   * saved, the stream appended to the chunk log (resumable). Default true; off
   * only to measure what it costs (`npm run bench -- durability`).
   */
  durable?: boolean;
  /**
   * Query texts that may wait for the embedder: beyond it a new turn is refused
   * with `server_busy` before anything is stored. Default: no limit.
   */
  embedQueueLimit?: number;
}

/** What a refused turn's client is told to wait (`Retry-After`). */
const busyRetryAfterSeconds = 1;

export interface StartedTurn {
  session: Session;
  stream: ReadableStream<UIMessageChunk>;
}

export interface TurnRunner {
  /**
   * Starts a turn and waits until its session is resolved (404 and 409 are
   * thrown here, before any streaming). The turn runs to its end whether or
   * not anyone reads the returned stream: a client that disconnects does not lose it.
   */
  start(request: ChatRequest, resourceId: string): Promise<StartedTurn>;
  /**
   * Stops the session's running turn, in this process or another; its partial
   * answer is saved as stopped. False when no turn of the session runs.
   * `wait`: resolve once the turn has ended (and its answer is embedded).
   */
  stop(resourceId: string, sessionId: string, options?: { wait?: boolean }): Promise<boolean>;
  /**
   * The running turn of a session (by session id or the client's chat id) as
   * a stream from its start that follows it live; `undefined` when none runs.
   */
  resume(resourceId: string, sessionOrChatId: string): Promise<ReadableStream<UIMessageChunk> | undefined>;
  /**
   * Marks turns whose process died as interrupted (keeping their partial
   * answers), saves answers that ended turns of dead processes left unsaved,
   * and removes chunk logs past their retention. Run at start-up and with
   * cleanup; returns how many turns were recovered and answers saved.
   */
  maintain(): Promise<{ interrupted: number; restored: number; chunkBatchesRemoved: number }>;
  /** Resolves when every running turn has finished, its answer embedded (graceful shutdown). */
  settled(): Promise<void>;
}

/** How long stopping a turn in another process waits for it to end (deleting its session). */
const stopWaitMs = 10_000;
/** How long a finished turn's chunk log is kept for resumers still reading it. */
export const chunkRetentionMs = 60_000;

/**
 * Runs chat turns on the turn machine with the real stores, memory, model and
 * tools, and streams each as an AI SDK UI message stream: `start` (with the
 * server's assistant message id), then `data-session`, then the model's parts.
 */
export function createTurnRunner(options: TurnRunnerOptions): TurnRunner {
  const { sessions, memory, traces, turnLog, logger, clock } = options;
  const durable = options.durable ?? true;
  /** Turns running in this process, by session: how to stop one, and when it has ended (lease released). */
  const running = new Map<string, { stop: () => void; ended: Promise<void> }>();
  /** The work after each session's last turn (its answer's embedding), awaited by deletion and shutdown. */
  const afterwork = new Map<string, Promise<void>>();
  const recovery = createTurnRecovery({ turnLog, sessions, memory, traces, clock, logger });
  const lease = createTurnLease({ sessions, recovery, logger });
  const dependencies: TurnDependencies = {
    sessions,
    memory,
    turnLog,
    lease,
    recovery,
    tools: options.tools,
    model: options.model,
    modelId: options.modelId,
    maxSteps: options.maxSteps ?? 5,
    isRunningHere: (sessionId) => running.has(sessionId),
  };

  async function start(request: ChatRequest, resourceId: string): Promise<StartedTurn> {
    // Refused at the door rather than left waiting: the queue in front of the embedder is bounded.
    if (memory.embeddingBacklog() >= (options.embedQueueLimit ?? Number.POSITIVE_INFINITY)) {
      throw new ServerBusyError(busyRetryAfterSeconds);
    }
    // The recall query is embedded while the session is resolved (docs/memory.md): recall finds it in flight or done.
    memory.prepareRecall(messageText(request.userMessage), resourceId);
    const turnId = options.generateId();
    const turn = createLiveTurn({
      turnId,
      assistantId: options.generateId(),
      leaseId: options.generateId(),
      resourceId,
      request,
      durable,
      logger: logger.child({ turnId }),
    });
    const actor = createActor(turnMachine.provide({ actors: turnActors(createTurnEffects(dependencies, turn)) }), {
      input: {
        turnId,
        resourceId,
        sessionId: request.sessionId,
        userMessage: request.userMessage,
        trigger: request.trigger,
        model: options.modelId,
        clock,
      },
    });
    actor.start();
    // Resolving the session decides the HTTP answer: 404, 409, a replay, or the live stream.
    const resolved = await waitFor(
      actor,
      (snapshot) => snapshot.status !== "active" || !snapshot.matches("resolvingSession"),
    );
    const { session, replay, error } = resolved.context;
    if (resolved.status === "error") throw resolved.error;
    if (error || !session)
      throw AppError.isInstance(error?.cause) ? error.cause : (error?.cause ?? new Error("no session"));
    if (replay) return { session, stream: replayStream(replay, session.id, resourceId) };

    let ended!: () => void;
    running.set(session.id, {
      stop: () => actor.send({ type: "stop" }),
      ended: new Promise<void>((resolve) => {
        ended = resolve;
      }),
    });
    if (durable) {
      turn.recorder = createStreamRecorder({
        turnLog,
        turnId,
        saveStep: async (message) => {
          if (turn.finalizing) return;
          await savePartial(memory, turn, message, "running", options.modelId);
          turn.stepSaved = true;
        },
      });
    }
    const stream = createUIMessageStream<ChatMessage>({
      execute: ({ writer }) => streamTurn(turn, actor, writer),
      onError: (failure) => {
        turn.logger.error({ err: failure }, "turn stream failed");
        return safeFailure;
      },
    });
    const forClient = relayTurn(stream, turn, async () => {
      const finished = await finishTurn(dependencies, turn);
      running.delete(session.id);
      ended();
      // Embedding the answer happens after the client got `finish`; deletion and shutdown wait for it,
      // and for the session's earlier turns' work, which may still be running. It begins once `finish`
      // is queued to the client: its first reads run on this thread and would otherwise come before it.
      const embedded = Promise.all([
        afterwork.get(session.id),
        yieldToEventLoop().then(() => afterTurn(turn, session, finished)),
      ]).then(() => undefined);
      afterwork.set(session.id, embedded);
      void embedded.finally(() => {
        if (afterwork.get(session.id) === embedded) afterwork.delete(session.id);
      });
      return finished;
    });
    return { session, stream: forClient };
  }

  /** The stream of a live turn: `start`, then whatever its steps write, then the outcome. */
  async function streamTurn(turn: LiveTurn, actor: TurnActor, writer: UIMessageStreamWriter<ChatMessage>) {
    writer.write({ type: "start", messageId: turn.assistantId });
    turn.attachWriter(writer);
    const output = await runTurn(actor);
    turn.outcome = output.status;
    // A turn that ended before generating still tells the client its session.
    await turn.announce().catch((failure) => turn.logger.error({ err: failure }, "user message not saved"));
    // Written with the turn's end, in one write (finishTurn).
    turn.trace = output.trace;
    if (output.trace.transitions.some((transition) => transition.state === "generating")) {
      turn.usage = output.trace.usage;
    }
    if (output.error) {
      const { state, code, cause } = output.error;
      turn.logger.warn({ state, code, err: cause }, "turn failed");
      if (!turn.errorWritten) writer.write({ type: "error", errorText: output.error.message });
    } else {
      turn.logger.info({ status: output.status, usage: output.trace.usage }, "turn finished");
    }
  }

  /**
   * After `finish`: the answer's embedding, a check that the session was not
   * deleted meanwhile (by another process: then this turn's writes go too),
   * and the chunk log's removal once resumers are done with it (kept when it
   * holds an answer memory lacks, for recovery to save).
   */
  async function afterTurn(turn: LiveTurn, session: Session, finished: FinishedTurn): Promise<void> {
    try {
      await memory.indexPending();
      if (!(await sessions.get(turn.resourceId, session.id))) await memory.deleteThread(session);
    } catch (failure) {
      turn.logger.error({ err: failure }, "indexing failed");
    }
    if (turn.recorder && !finished.keepLog) {
      setTimeout(() => {
        turnLog
          .deleteChunks(turn.turnId)
          .catch((failure) => turn.logger.error({ err: failure }, "chunk log cleanup failed"));
      }, chunkRetentionMs).unref();
    }
  }

  /**
   * Waits (a while) until no turn of the session runs in any process: one
   * asked to stop saves its partial answer within a stop poll; one whose
   * process died is recovered. A turn still running after that is left to the
   * check it makes itself once it ends.
   */
  async function untilNotRunning(resourceId: string, sessionId: string): Promise<void> {
    // Real elapsed time, not the injected clock (which dates records and may stand still in tests).
    const deadline = performance.now() + stopWaitMs;
    for (let poll = 0; performance.now() < deadline; poll++) {
      if (poll % 20 === 0) await recovery.recoverDeadHolders(sessionId);
      if (!(await turnLog.findRunning(resourceId, sessionId))) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  return {
    start,

    async stop(resourceId, sessionId, stopOptions = {}) {
      const turn = running.get(sessionId);
      if (turn) {
        turn.stop();
        if (stopOptions.wait) {
          await turn.ended;
          await afterwork.get(sessionId);
        }
        return true;
      }
      if (stopOptions.wait) await afterwork.get(sessionId);
      const requested = await turnLog.requestStop(resourceId, sessionId);
      if (requested && stopOptions.wait) await untilNotRunning(resourceId, sessionId);
      return requested;
    },

    async resume(resourceId, sessionOrChatId) {
      const found = await turnLog.findRunning(resourceId, sessionOrChatId);
      if (!found) return undefined;
      // A turn whose process died is not streamed forever: it is recovered (and so not running).
      const alive = () => recovery.recoverDeadHolders(found.sessionId);
      if (!running.has(found.sessionId)) await alive();
      const turn = await turnLog.findRunning(resourceId, sessionOrChatId);
      return turn ? followTurn(turnLog, turn.id, alive) : undefined;
    },

    async maintain() {
      const interrupted = await recovery.recoverDeadHolders();
      const before = new Date(clock.now().getTime() - chunkRetentionMs);
      // Before the chunk logs go: they may hold an answer a dead process left unsaved
      // (those that could not be looked at now stay, until the next time).
      const { restored, kept } = await recovery.restoreEnded(before);
      if (interrupted + restored > 0) await memory.indexPending();
      const chunkBatchesRemoved = await turnLog.pruneChunks(before, kept);
      return { interrupted, restored, chunkBatchesRemoved };
    },

    async settled() {
      await Promise.all([...running.values()].map((turn) => turn.ended));
      await Promise.all(afterwork.values());
    },
  };
}
