import type { LanguageModelV4 } from "@ai-sdk/provider";
import {
  buildTurnContext,
  type Clock,
  type GenerateInput,
  type IdGenerator,
  messageText,
  type RecallResult,
  runTurn,
  type Session,
  type TraceToolCall,
  type TurnOutput,
  traceRecalled,
  turnActors,
  turnMachine,
} from "@session-bridge/core";
import { AppError, SessionBusyError, SessionNotFoundError } from "@session-bridge/shared";
import {
  convertToModelMessages,
  createUIMessageStream,
  stepCountIs,
  streamText,
  type UIMessage,
  type UIMessageChunk,
  type UIMessageStreamWriter,
} from "ai";
import type { Logger } from "pino";
import { createActor } from "xstate";
import type { MemoryBridge } from "../memory/memory-bridge.ts";
import { streamingStatus } from "../memory/message-codec.ts";
import type { ServerSessionStore } from "../storage/sessions.ts";
import type { TraceStore } from "../storage/traces.ts";
import type { TurnLog } from "../storage/turn-log.ts";
import type { UsageStore } from "../storage/usage.ts";
import { type ChatToolDependencies, createChatTools } from "../tools/chat-tools.ts";
import type { ChatRequest } from "./chat-request.ts";
import { processOwner } from "./process-owner.ts";
import { createTurnRecovery } from "./recovery.ts";
import { chunksOfStoredMessage } from "./replay.ts";
import { followTurn } from "./resume.ts";
import { createStreamRecorder, type StreamRecorder } from "./stream-recorder.ts";

export interface TurnRunnerOptions {
  sessions: ServerSessionStore;
  memory: MemoryBridge;
  traces: TraceStore;
  usage: UsageStore;
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
}

export interface StartedTurn {
  session: Session;
  stream: ReadableStream<UIMessageChunk>;
}

export interface TurnRunner {
  /**
   * Resolves the session (404 and 409 are thrown here, before any streaming)
   * and starts the turn. The turn runs to its end whether or not anyone reads
   * the returned stream: a client that disconnects does not lose it.
   */
  start(request: ChatRequest, resourceId: string): Promise<StartedTurn>;
  /**
   * Stops the session's running turn, in this process or another; its partial
   * answer is saved as stopped. False when no turn of the session runs.
   * `wait`: resolve once a turn running in this process has ended.
   */
  stop(resourceId: string, sessionId: string, options?: { wait?: boolean }): Promise<boolean>;
  /**
   * The running turn of a session (by session id or the client's chat id) as
   * a stream from its start that follows it live; `undefined` when none runs.
   */
  resume(resourceId: string, sessionOrChatId: string): Promise<ReadableStream<UIMessageChunk> | undefined>;
  /**
   * Marks turns whose process died as interrupted (keeping their partial
   * answers) and removes chunk logs past their retention. Run at start-up and
   * with cleanup; returns how many turns were recovered.
   */
  maintain(): Promise<{ interrupted: number; chunkBatchesRemoved: number }>;
  /** Resolves when every running turn has finished (graceful shutdown). */
  settled(): Promise<void>;
}

const titleLength = 80;
/** A lease left by a process that died frees the session within this long. */
export const turnLeaseMs = 30_000;
const leaseRenewMs = 10_000;
/** How often a running turn checks whether another process asked it to stop. */
const stopPollMs = 500;
/** How long stopping a turn in another process waits for it to end (deleting its session). */
const stopWaitMs = 10_000;
/** How long a finished turn's chunk log is kept for resumers still reading it. */
export const chunkRetentionMs = 60_000;
const safeFailure = "The answer could not be completed; the turn was recorded as failed.";

/**
 * Runs chat turns on the turn machine with the real stores, memory, model and
 * tools, and streams each as an AI SDK UI message stream: `start` (with the
 * server's assistant message id), then `data-session`, then the model's parts.
 */
export function createTurnRunner(options: TurnRunnerOptions): TurnRunner {
  const { sessions, memory, traces, turnLog, logger } = options;
  const durable = options.durable ?? true;
  const running = new Map<string, { stop: () => void; done: Promise<void> }>();
  /** Sessions whose last turn's answer is still being embedded. */
  const indexing = new Map<string, Promise<void>>();
  const recovery = createTurnRecovery({ turnLog, sessions, memory, traces, logger });

  async function resolveSession(request: ChatRequest, resourceId: string): Promise<Session> {
    if (request.sessionId) {
      const session = await sessions.get(resourceId, request.sessionId);
      if (!session) throw new SessionNotFoundError(request.sessionId);
      return session;
    }
    const title = messageText(request.userMessage).slice(0, titleLength) || null;
    return sessions.create(resourceId, { title });
  }

  /** Takes the session's lease; a lease held by a dead process on this machine is recovered first. */
  async function acquireLease(resourceId: string, sessionId: string, leaseId: string): Promise<boolean> {
    if (running.has(sessionId)) return false;
    if (await sessions.acquireTurnLease(resourceId, sessionId, leaseId, turnLeaseMs)) {
      // Turns left running under an older lease are dead now that we hold it.
      try {
        await recovery.recoverSession(sessionId);
      } catch (error) {
        await sessions.releaseTurnLease(sessionId, leaseId);
        throw error;
      }
      return true;
    }
    return (
      (await recovery.recoverDeadHolders(sessionId)) > 0 &&
      sessions.acquireTurnLease(resourceId, sessionId, leaseId, turnLeaseMs)
    );
  }

  return {
    async start(request, resourceId) {
      const session = await resolveSession(request, resourceId);
      const earlier =
        request.trigger === "regenerate-message"
          ? undefined
          : await memory.findWithNext(session.id, resourceId, request.userMessage.id);
      const answerOf = (found: typeof earlier) => (found?.next?.role === "assistant" ? found.next : undefined);
      const isFinal = (answer: UIMessage | undefined) => {
        const status = (answer?.metadata as { status?: string } | undefined)?.status;
        return status === "complete" || status === "stopped";
      };
      let earlierAnswer = answerOf(earlier);
      // A retry of a user message that was already answered gets the stored answer again.
      if (isFinal(earlierAnswer)) {
        return { session, stream: replayStream(earlierAnswer as UIMessage, session.id, resourceId) };
      }
      // One turn per session, across processes: the lease lives in the database.
      const leaseId = options.generateId();
      if (!(await acquireLease(resourceId, session.id, leaseId))) throw new SessionBusyError(session.id);
      const renewal = setInterval(() => {
        sessions
          .renewTurnLease(session.id, leaseId, turnLeaseMs)
          .then((held) => {
            if (held) return;
            // Another process took the session (this one stalled past the lease): stop, do not race it.
            logger.error({ sessionId: session.id }, "turn lease lost; stopping the turn");
            running.get(session.id)?.stop();
          })
          .catch((error) => {
            logger.error({ err: error, sessionId: session.id }, "turn lease renewal failed");
          });
      }, leaseRenewMs);
      const releaseLease = async () => {
        clearInterval(renewal);
        await sessions.releaseTurnLease(session.id, leaseId);
      };
      const turnId = options.generateId();
      const assistantId = options.generateId();
      try {
        if (earlier) {
          // Taking the lease may have recovered an interrupted answer, or a turn
          // may have finished just before: look again now that nothing else runs.
          earlierAnswer = answerOf(await memory.findWithNext(session.id, resourceId, request.userMessage.id));
          if (isFinal(earlierAnswer)) {
            await releaseLease();
            return { session, stream: replayStream(earlierAnswer as UIMessage, session.id, resourceId) };
          }
        }
        // The answer being replaced goes before the new one is made: the last
        // one when regenerating, an interrupted or failed one when retrying.
        const replaced =
          request.trigger === "regenerate-message"
            ? (await memory.lastMessages(session.id, resourceId, 1)).find((message) => message.role === "assistant")
            : earlierAnswer;
        if (replaced) await memory.deleteMessages(session.id, resourceId, [replaced.id]);
        await turnLog.begin({
          id: turnId,
          sessionId: session.id,
          resourceId,
          chatId: request.chatId ?? null,
          userMessageId: request.userMessage.id,
          assistantMessageId: assistantId,
          model: options.modelId,
          leaseId,
          owner: processOwner,
        });
      } catch (error) {
        await releaseLease();
        throw error;
      }
      const turnLogger = logger.child({ turnId, sessionId: session.id });
      // Until `finish`, embedding that nobody waits for (other answers' vectors) holds back.
      const releaseBackgroundWork = memory.holdBackgroundWork();
      // The user message is saved while memory is recalled; `data-session`
      // waits for it, so a user message the client saw acknowledged is stored.
      const userSaved = durable
        ? memory.save({ sessionId: session.id, resourceId, messages: [request.userMessage], index: "later" })
        : Promise.resolve();
      userSaved.catch(() => {}); // awaited (and reported) before the session is announced
      let stopTurn = () => {};
      let finished!: () => void;
      const done = new Promise<void>((resolve) => {
        finished = resolve;
      });
      running.set(session.id, { stop: () => stopTurn(), done });
      const stopPoll = setInterval(() => {
        turnLog
          .stopRequested([turnId])
          .then((ids) => ids.length > 0 && stopTurn())
          .catch((error) => turnLogger.error({ err: error }, "stop request check failed"));
      }, stopPollMs);

      /** The answer as far as it got, under the server's message id, labelled `status`. */
      const savePartial = (message: UIMessage, status: string) =>
        memory.save({
          sessionId: session.id,
          resourceId,
          messages: [
            { ...message, id: assistantId, metadata: metadataFor(session.id, options.modelId, status, zeroUsage) },
          ],
          index: "later",
        });
      let stepSaved = false;
      let finalizing = false;
      const recorder = durable
        ? createStreamRecorder({
            turnLog,
            turnId,
            saveStep: async (message) => {
              if (finalizing) return;
              await savePartial(message, streamingStatus);
              stepSaved = true;
            },
          })
        : undefined;
      let outcome: TurnOutput["status"] = "failed";

      const stream = createUIMessageStream({
        execute: async ({ writer }) => {
          writer.write({ type: "start", messageId: assistantId });
          const sessionPart = {
            type: "data-session",
            id: "session",
            data: { sessionId: session.id, resourceId },
          } as const;
          let announced = false;
          const announceSession = async () => {
            if (announced) return sessionPart;
            await userSaved;
            announced = true;
            writer.write(sessionPart);
            return sessionPart;
          };
          const effects = turnEffects(writer, session, resourceId, assistantId, {
            beforeGenerate: announceSession,
            beforeFinalSave: async () => {
              finalizing = true;
              await recorder?.idle();
            },
          });
          const actor = createActor(turnMachine.provide({ actors: turnActors(effects) }), {
            input: {
              turnId,
              resourceId,
              sessionId: session.id,
              userMessage: request.userMessage,
              model: options.modelId,
              clock: options.clock,
            },
          });
          stopTurn = () => actor.send({ type: "stop" });
          actor.start();
          const output = await runTurn(actor);
          outcome = output.status;
          // A turn that ended before generating still tells the client its session.
          await announceSession().catch((error) => turnLogger.error({ err: error }, "user message not saved"));
          await traces.save(session.id, output.trace);
          if (output.trace.transitions.some((transition) => transition.state === "generating")) {
            await options.usage.record(resourceId, options.modelId, output.trace.usage);
          }
          if (output.error) {
            turnLogger.warn(
              { state: output.error.state, code: output.error.code, err: output.error.cause },
              "turn failed",
            );
            if (!effects.errorWritten()) writer.write({ type: "error", errorText: output.error.message });
          } else {
            turnLogger.info({ status: output.status, usage: output.trace.usage }, "turn finished");
          }
        },
        onError: (error) => {
          turnLogger.error({ err: error }, "turn stream failed");
          return safeFailure;
        },
      });

      // Two readers: the client's, which may go away, and the server's, which
      // reads to the end (logging each chunk) so that the turn always completes and is saved.
      const [forClient, forServer] = stream.tee();
      const finishing = drainThenFinish(forServer, recorder, async () => {
        releaseBackgroundWork();
        clearInterval(stopPoll);
        // The chunk log is for resuming: losing a batch is logged, never fatal to the turn.
        await recorder?.close().catch((error) => turnLogger.error({ err: error }, "chunk log write failed"));
        try {
          if (outcome === "failed" && stepSaved) {
            // Keep what the failed turn had said, labelled.
            const partial = await recorder?.message();
            if (partial) await savePartial(partial, "failed");
          }
        } catch (error) {
          turnLogger.error({ err: error }, "the failed turn's partial answer could not be saved");
        }
        await turnLog
          .finish(turnId, outcome === "interrupted" ? "failed" : outcome)
          .catch((error) => turnLogger.error({ err: error }, "turn could not be finalized"));
        await releaseLease().catch((error) => turnLogger.error({ err: error }, "turn lease release failed"));
        running.delete(session.id);
        // Embedding the answer happens here, after the client got `finish`; a
        // session deleted meanwhile waits for it (see `stop` with `wait`).
        const indexed = memory
          .indexPending()
          // A session deleted by another process while this turn ran may have
          // received this turn's writes after its deletion: remove them.
          .then(async () => {
            if (!(await sessions.get(resourceId, session.id))) await memory.deleteThread(session);
          })
          .catch((error) => turnLogger.error({ err: error }, "indexing failed"));
        indexing.set(session.id, indexed);
        finished();
        await indexed;
        if (indexing.get(session.id) === indexed) indexing.delete(session.id);
        // Resumers still reading get a while; `maintain` removes what a restart left behind.
        if (durable) {
          setTimeout(() => {
            turnLog.deleteChunks(turnId).catch((error) => turnLogger.error({ err: error }, "chunk log cleanup failed"));
          }, chunkRetentionMs).unref();
        }
      });
      finishing.catch((error) => turnLogger.error({ err: error }, "turn could not be finished"));
      return { session, stream: forClient };
    },

    async stop(resourceId, sessionId, stopOptions = {}) {
      const turn = running.get(sessionId);
      if (turn) {
        turn.stop();
        if (stopOptions.wait) {
          await turn.done;
          await indexing.get(sessionId);
        }
        return true;
      }
      if (stopOptions.wait) await indexing.get(sessionId);
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
      if (interrupted > 0) await memory.indexPending();
      const chunkBatchesRemoved = await turnLog.pruneChunks(new Date(options.clock.now().getTime() - chunkRetentionMs));
      return { interrupted, chunkBatchesRemoved };
    },

    async settled() {
      await Promise.all([...running.values()].map((turn) => turn.done));
      // The answers' embedding after `finish` is part of a turn's work (shutdown waits for it).
      await Promise.all(indexing.values());
    },
  };

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

  function turnEffects(
    writer: UIMessageStreamWriter,
    session: Session,
    resourceId: string,
    assistantId: string,
    hooks: {
      /** Announces the session once the user message is stored; returns the part the client got. */
      beforeGenerate: () => Promise<UIMessage["parts"][number]>;
      beforeFinalSave: () => Promise<void>;
    },
  ) {
    let errorWritten = false;
    return {
      errorWritten: () => errorWritten,
      // Resolved before streaming, and touched when its lease was taken.
      resolveSession: async () => session,
      loadToolSessions: async () => options.tools.toolSessions.listForSession(session.id),
      recallMemory: async ({ userMessage }: { userMessage: UIMessage }) =>
        memory.recall({
          sessionId: session.id,
          resourceId,
          query: messageText(userMessage),
          excludeMessageIds: [userMessage.id],
        }),
      generate: async ({ recall, userMessage, signal }: GenerateInput) => {
        const sessionPart = await hooks.beforeGenerate();
        const context = buildTurnContext(recall, userMessage, session.id);
        const recallPart = recallData(recall);
        if (recallPart) writer.write(recallPart);
        // The answer is stored as the client builds it: the data parts written here, then the model's.
        const leadingParts = recallPart ? [sessionPart, recallPart] : [sessionPart];
        const toolCalls: TraceToolCall[] = [];
        let modelError: unknown;
        const result = streamText({
          model: options.model,
          instructions: context.system,
          messages: await convertToModelMessages(context.messages),
          tools: createChatTools(options.tools, session.id, toolCalls, (error) =>
            logger.error({ err: error.cause, sessionId: session.id, tool: error.toolName }, "tool failed"),
          ),
          stopWhen: stepCountIs(options.maxSteps ?? 5),
          abortSignal: signal,
          onError: ({ error }) => {
            modelError = error;
          },
        });
        let usage = { inputTokens: 0, outputTokens: 0 };
        const final = await new Promise<{ message: UIMessage | undefined; aborted: boolean }>((resolve) => {
          writer.merge(
            result.toUIMessageStream({
              sendStart: false,
              // Sources the model cites reach the client, as reasoning does by default.
              sendSources: true,
              generateMessageId: () => assistantId,
              // Tool errors are ours and say what went wrong safely; anything else is hidden.
              onError: (error) => AppError.safeMessage(error, safeFailure),
              messageMetadata: ({ part }) => {
                if (part.type !== "finish") return undefined;
                usage = {
                  inputTokens: part.totalUsage.inputTokens ?? 0,
                  outputTokens: part.totalUsage.outputTokens ?? 0,
                };
                return metadataFor(session.id, options.modelId, "complete", usage);
              },
              onEnd: ({ messages, isAborted }) => resolve({ message: messages.at(-1), aborted: isAborted }),
            }),
          );
        });
        if (modelError) {
          errorWritten = true; // toUIMessageStream already ended the stream with an error part
          throw modelError;
        }
        const status = final.aborted || signal.aborted ? "stopped" : "complete";
        const assistantMessage: UIMessage = {
          ...(final.message ?? { parts: [] }),
          parts: [...leadingParts, ...(final.message?.parts ?? [])],
          id: assistantId,
          role: "assistant",
          metadata: metadataFor(session.id, options.modelId, status, usage),
        };
        // A stopped stream ends without `finish`: the client still learns how its message ended.
        if (status === "stopped")
          writer.write({ type: "message-metadata", messageMetadata: assistantMessage.metadata });
        return { assistantMessage, status, usage, toolCalls } as const;
      },
      saveTurn: async ({ userMessage, assistantMessage }: { userMessage: UIMessage; assistantMessage: UIMessage }) => {
        await hooks.beforeFinalSave();
        await memory.save({
          sessionId: session.id,
          resourceId,
          // A durable turn saved its user message when it started.
          messages: durable ? [assistantMessage] : [userMessage, assistantMessage],
          index: "later",
        });
      },
    };
  }
}

/**
 * What the model was shown from memory, for the UI: `data-recall`, sent before
 * the model's parts when recall found anything (and kept in the saved answer).
 */
function recallData(recall: RecallResult) {
  const recalled = traceRecalled(recall.recalled);
  const memories = recall.memories.map(({ id, scope, text }) => ({ id, scope, text }));
  if (recalled.length === 0 && memories.length === 0) return undefined;
  return { type: "data-recall", id: "recall", data: { recalled, memories } } as const;
}

const zeroUsage = { inputTokens: 0, outputTokens: 0 };

function metadataFor(
  sessionId: string,
  model: string,
  status: string,
  usage: { inputTokens: number; outputTokens: number },
) {
  return { sessionId, model, status, usage: { ...usage, totalTokens: usage.inputTokens + usage.outputTokens } };
}

function replayStream(answer: UIMessage, sessionId: string, resourceId: string): ReadableStream<UIMessageChunk> {
  return createUIMessageStream({
    execute: ({ writer }) => {
      writer.write({ type: "start", messageId: answer.id, messageMetadata: answer.metadata });
      writer.write({ type: "data-session", id: "session", data: { sessionId, resourceId } });
      for (const chunk of chunksOfStoredMessage(answer)) writer.write(chunk);
      writer.write({ type: "finish", messageMetadata: answer.metadata });
    },
  });
}

async function drainThenFinish(
  stream: ReadableStream<UIMessageChunk>,
  recorder: StreamRecorder | undefined,
  finish: () => Promise<void>,
): Promise<void> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      recorder?.record(value);
    }
  } finally {
    await finish();
  }
}
