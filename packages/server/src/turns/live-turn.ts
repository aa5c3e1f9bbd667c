import type { Session, TurnStatus, TurnTrace } from "@session-bridge/core";
import type { ChatMessage } from "@session-bridge/shared";
import type { UIMessageStreamWriter } from "ai";
import type { Logger } from "pino";
import type { ChatRequest } from "./chat-request.ts";
import type { StreamRecorder } from "./stream-recorder.ts";

/** The part that tells the client its session: the first after `start`. */
export type SessionPart = Extract<ChatMessage["parts"][number], { type: "data-session" }>;

/**
 * Everything one running turn knows about itself, in one place: what its
 * steps (the machine's actors) set and read, and what its finishing reads.
 */
export interface LiveTurn {
  readonly turnId: string;
  /** The server's id of the answer, sent in `start`. */
  readonly assistantId: string;
  /** The session lease this turn takes. */
  readonly leaseId: string;
  readonly resourceId: string;
  readonly request: ChatRequest;
  /** Crash safety on (the default): the user message saved at once, steps saved, the chunk log kept. */
  readonly durable: boolean;
  logger: Logger;
  /** Set once resolved. */
  session: Session | undefined;
  /** True once the lease is held and the turn is logged as running. */
  started: boolean;
  /** The user message's save, begun as the turn starts (`data-session` waits for it). */
  userSaved: Promise<void>;
  /** The stream's writer, once the stream has begun. */
  writer: Promise<UIMessageStreamWriter<ChatMessage>>;
  /** The chunk log and step saves (durable turns). */
  recorder: StreamRecorder | undefined;
  /** A step of the answer was saved (its partial exists in memory). */
  stepSaved: boolean;
  /** The final save has begun: step saves stop. */
  finalizing: boolean;
  /**
   * The answer's save of a durable turn, under way while the turn's end is
   * written (`finishTurn` waits for both before `finish`).
   */
  answerSaved: Promise<void> | undefined;
  /** The stream already ended with an `error` part (the model's own). */
  errorWritten: boolean;
  /** How the turn ended, once it has. */
  outcome: TurnStatus;
  /** The machine's trace, and the usage to count (turns that reached the model), written with the turn's end. */
  trace: TurnTrace | undefined;
  usage: { inputTokens: number; outputTokens: number } | undefined;
  /** Lets background embedding go again (see `MemoryBridge.holdBackgroundWork`). */
  releaseBackgroundWork: () => void;
  /** Sends `data-session` once the user message is stored (once); returns the part. */
  announce(): Promise<SessionPart>;
  /** Gives the turn its stream's writer. */
  attachWriter(writer: UIMessageStreamWriter<ChatMessage>): void;
}

export function createLiveTurn(fields: {
  turnId: string;
  assistantId: string;
  leaseId: string;
  resourceId: string;
  request: ChatRequest;
  durable: boolean;
  logger: Logger;
}): LiveTurn {
  let attach!: (writer: UIMessageStreamWriter<ChatMessage>) => void;
  const writer = new Promise<UIMessageStreamWriter<ChatMessage>>((resolve) => {
    attach = resolve;
  });
  let announced: Promise<SessionPart> | undefined;
  const turn: LiveTurn = {
    ...fields,
    session: undefined,
    started: false,
    userSaved: Promise.resolve(),
    writer,
    recorder: undefined,
    stepSaved: false,
    finalizing: false,
    answerSaved: undefined,
    errorWritten: false,
    outcome: "failed",
    trace: undefined,
    usage: undefined,
    releaseBackgroundWork: () => {},
    announce() {
      announced ??= (async () => {
        await turn.userSaved;
        const session = turn.session as Session;
        const part: SessionPart = {
          type: "data-session",
          id: "session",
          data: { sessionId: session.id, resourceId: turn.resourceId },
        };
        (await writer).write(part);
        return part;
      })();
      return announced;
    },
    attachWriter: (streamWriter) => attach(streamWriter),
  };
  return turn;
}
