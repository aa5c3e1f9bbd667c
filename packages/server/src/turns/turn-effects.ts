import type { LanguageModelV4 } from "@ai-sdk/provider";
import { messageText, type Session, type SessionStore, type TurnEffects, type TurnLog } from "@session-bridge/core";
import { type ChatMessage, columnText, SessionBusyError, SessionNotFoundError, statusOf } from "@session-bridge/shared";
import type { MemoryBridge } from "../memory/memory-bridge.ts";
import type { ChatToolDependencies } from "../tools/chat-tools.ts";
import { generateAnswer } from "./generate-answer.ts";
import type { LiveTurn } from "./live-turn.ts";
import { processOwner } from "./process-owner.ts";
import type { TurnRecovery } from "./recovery.ts";
import type { TurnLease } from "./turn-lease.ts";

const titleLength = 80;
/** How often a running turn checks whether another process asked it to stop. */
const stopPollMs = 500;

export interface TurnDependencies {
  sessions: SessionStore;
  memory: MemoryBridge;
  turnLog: TurnLog;
  lease: TurnLease;
  recovery: TurnRecovery;
  tools: ChatToolDependencies;
  model: LanguageModelV4;
  modelId: string;
  /** Tool-calling steps per turn. */
  maxSteps: number;
  /** True while this process runs a turn of the session (a fast 409 before asking the database). */
  isRunningHere(sessionId: string): boolean;
}

/** A stored answer that needs no new turn: a retry of its user message gets it again. */
const isFinal = (answer: ChatMessage | undefined) => ["complete", "stopped"].includes(statusOf(answer) ?? "");
const answerOf = (found: { next: ChatMessage | undefined } | undefined) =>
  found?.next?.role === "assistant" ? found.next : undefined;

/**
 * The side effects of one turn, as the turn machine's actors perform them:
 * each reads and writes the turn's own {@link LiveTurn}.
 */
export function createTurnEffects(dependencies: TurnDependencies, turn: LiveTurn): TurnEffects {
  const { sessions, memory, turnLog, lease } = dependencies;
  const { resourceId } = turn;

  return {
    async resolveSession({ sessionId, userMessage, trigger }) {
      const findEarlier = async (id: string) =>
        trigger === "regenerate-message" ? undefined : memory.findWithNext(id, resourceId, userMessage.id);
      const resolved = (session: Session) => {
        turn.session = session;
        turn.logger = turn.logger.child({ sessionId: session.id });
        return session;
      };
      // One turn per session, across processes: the lease lives in the database.
      // A new session is created holding it; nothing can be earlier in it.
      let earlier: Awaited<ReturnType<typeof findEarlier>>;
      /** The session's last visible message, as the lookup below read it (none in a new session). */
      let last: ChatMessage | undefined;
      let session: Session;
      if (!sessionId) {
        const title = columnText(messageText(userMessage), titleLength) || null;
        session = resolved(await lease.createHeld(resourceId, title, turn.leaseId));
      } else {
        const attempt = dependencies.isRunningHere(sessionId)
          ? await sessions.get(resourceId, sessionId).then((busy) => busy && { busy })
          : await lease.acquire(resourceId, sessionId, turn.leaseId);
        if (!attempt) throw new SessionNotFoundError(sessionId);
        if ("busy" in attempt) {
          // Another turn runs: a retry of a user message that was already answered still gets its answer.
          const answered = answerOf(await findEarlier(attempt.busy.id));
          if (isFinal(answered)) return { session: resolved(attempt.busy), replay: answered as ChatMessage };
          throw new SessionBusyError(attempt.busy.id);
        }
        session = resolved(attempt.held);
        try {
          // Looked up now that nothing else runs (taking the lease may have recovered an interrupted answer).
          let lookup = await memory.findWithNextAndLast(session.id, resourceId, userMessage.id);
          // An answer its turn's process died before saving (it is saved alongside the turn's end) is
          // saved first, so this turn sees it; while that process may still be saving it, the session is busy.
          // (A retry of a message answered already is replayed whatever came after it.)
          const answered = trigger !== "regenerate-message" && isFinal(answerOf(lookup.found));
          const restored =
            turn.durable && !answered ? await dependencies.recovery.restoreSession(session.id, lookup.last) : "none";
          if (restored === "busy") throw new SessionBusyError(session.id);
          if (restored === "restored")
            lookup = await memory.findWithNextAndLast(session.id, resourceId, userMessage.id);
          earlier = trigger === "regenerate-message" ? undefined : lookup.found;
          last = lookup.last;
        } catch (error) {
          await lease.release(session.id, turn.leaseId);
          throw error;
        }
        // A retry of a user message that was already answered gets the stored answer again.
        if (isFinal(answerOf(earlier))) {
          await lease.release(session.id, turn.leaseId);
          return { session, replay: answerOf(earlier) as ChatMessage };
        }
      }
      try {
        // The answer being replaced goes before the new one is made: the last
        // one when regenerating, an interrupted or failed one when retrying.
        const replaced =
          trigger === "regenerate-message" ? (last?.role === "assistant" ? last : undefined) : answerOf(earlier);
        if (replaced) await memory.deleteMessages(session.id, resourceId, [replaced.id]);
        await turnLog.begin({
          id: turn.turnId,
          sessionId: session.id,
          resourceId,
          chatId: turn.request.chatId ?? null,
          userMessageId: userMessage.id,
          assistantMessageId: turn.assistantId,
          model: dependencies.modelId,
          leaseId: turn.leaseId,
          owner: processOwner,
        });
      } catch (error) {
        await lease.release(session.id, turn.leaseId);
        throw error;
      }
      turn.started = true;
      // Until `finish`, embedding that nobody waits for (other answers' vectors) holds back.
      turn.releaseBackgroundWork = memory.holdBackgroundWork();
      // The user message is saved while memory is recalled; `data-session` waits for it,
      // so a user message the client saw acknowledged is stored.
      if (turn.durable) {
        turn.userSaved = memory.save({ sessionId: session.id, resourceId, messages: [userMessage], index: "later" });
        turn.userSaved.catch(() => {}); // awaited (and reported) before the session is announced
      }
      return { session, replay: null };
    },

    loadToolSessions: ({ session }) => dependencies.tools.toolSessions.listForSession(session.id),

    recallMemory: ({ session, userMessage }) =>
      memory.recall({
        sessionId: session.id,
        resourceId,
        query: messageText(userMessage),
        excludeMessageIds: [userMessage.id],
      }),

    generate: (input) => generateAnswer(dependencies, turn, input),

    async saveTurn({ session, userMessage, assistantMessage }) {
      turn.finalizing = true;
      await turn.recorder?.idle();
      const saved = memory.save({
        sessionId: session.id,
        resourceId,
        // A durable turn saved its user message when it started.
        messages: turn.durable ? [assistantMessage] : [userMessage, assistantMessage],
        index: "later",
      });
      if (!turn.durable) return saved;
      // A durable turn's answer is saved while its end is written (two files, at once):
      // `finishTurn` waits for both before `finish`, and records the turn failed if this
      // save fails. A crash in between leaves the whole answer in the chunk log, which the
      // end completes: recovery saves it from there (docs/chat.md, crash-safe turns).
      turn.answerSaved = saved;
      saved.catch(() => {}); // awaited (and reported) by finishTurn
    },

    keepLease: ({ session }, lost) => lease.keep(session.id, turn.leaseId, lost),

    watchStopRequests(_input, stopRequested) {
      const timer = setInterval(() => {
        turnLog.stopRequested([turn.turnId]).then(
          (ids) => ids.length > 0 && stopRequested(),
          (error) => turn.logger.error({ err: error }, "stop request check failed"),
        );
      }, stopPollMs);
      return () => clearInterval(timer);
    },
  };
}
