import type { ChatMessage, MessageStatus, RecalledItem } from "@session-bridge/shared";
import type { Clock } from "../ports/clock.ts";
import type { RecallResult } from "../ports/conversation-memory.ts";
import type { Session } from "../ports/session-store.ts";
import type { ToolSession } from "../ports/tool-session-store.ts";

/** How a turn ended, as stored with the assistant message and in the trace. */
export type TurnStatus = MessageStatus;

/** The states a turn passes through; the trace records each entry. */
export type TurnState =
  | "resolvingSession"
  | "loadingToolSessions"
  | "recallingMemory"
  | "generating"
  | "saving"
  | "done"
  | "aborted"
  | "failed";

export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
}

export interface TraceToolCall {
  toolName: string;
  input: unknown;
  output?: unknown;
  error?: string;
}

/** A recalled message as the trace (and the stream's `data-recall` part) show it. */
export type TraceRecalled = RecalledItem;

/** One turn as `GET /api/sessions/:id/trace` shows it. */
export interface TurnTrace {
  id: string;
  startedAt: Date;
  endedAt: Date | null;
  outcome: TurnStatus;
  model: string;
  transitions: { state: TurnState; at: Date }[];
  recalled: TraceRecalled[];
  toolCalls: TraceToolCall[];
  usage: TokenUsage;
}

/** A failure inside the machine: which step, a stable code and a message safe to show. */
export interface TurnError {
  state: TurnState;
  code: string;
  message: string;
  cause?: unknown;
}

export interface TurnInput {
  turnId: string;
  resourceId: string;
  /** `null` creates a new session for the resource. */
  sessionId: string | null;
  userMessage: ChatMessage;
  /** `regenerate-message` replaces the last answer instead of answering a new message. */
  trigger: "submit-message" | "regenerate-message";
  /** `provider:model`, for the trace. */
  model: string;
  clock: Clock;
}

/**
 * A session resolved for a turn: found (or created) for its resource, and the
 * turn made its one running turn. `replay`: the user message was answered
 * before, so that answer is sent again and no turn runs.
 */
export interface ResolvedSession {
  session: Session;
  replay: ChatMessage | null;
}

export interface GenerateInput {
  session: Session;
  toolSessions: ToolSession[];
  recall: RecallResult;
  userMessage: ChatMessage;
  /** Aborted by a `stop` event: end generation and resolve with what there is. */
  signal: AbortSignal;
}

export interface GenerateOutput {
  assistantMessage: ChatMessage;
  /** `stopped` when the signal ended generation early. */
  status: "complete" | "stopped";
  usage: TokenUsage;
  toolCalls: TraceToolCall[];
}

export interface SaveTurnInput {
  session: Session;
  userMessage: ChatMessage;
  assistantMessage: ChatMessage;
  status: TurnStatus;
}

/**
 * The side effects a turn needs, injected with `turnMachine.provide({ actors })`
 * (through {@link turnActors}); `packages/core` performs none itself.
 */
export interface TurnEffects {
  resolveSession(input: {
    resourceId: string;
    sessionId: string | null;
    userMessage: ChatMessage;
    trigger: TurnInput["trigger"];
  }): Promise<ResolvedSession>;
  loadToolSessions(input: { session: Session }): Promise<ToolSession[]>;
  recallMemory(input: { session: Session; userMessage: ChatMessage }): Promise<RecallResult>;
  generate(input: GenerateInput): Promise<GenerateOutput>;
  saveTurn(input: SaveTurnInput): Promise<void>;
  /**
   * Keeps the session's lease while the turn is active; calls `lost` if another
   * process took it (this one stalled past its expiry). Returns the cleanup.
   */
  keepLease(input: { session: Session }, lost: () => void): () => void;
  /** Watches for a stop asked of this turn from elsewhere (another process); returns the cleanup. */
  watchStopRequests(input: { session: Session }, stopRequested: () => void): () => void;
}

/** What a finished turn machine outputs, whatever its final state. */
export interface TurnOutput {
  status: TurnStatus;
  session: Session | null;
  /** The earlier answer sent again instead of running the turn (see {@link ResolvedSession}). */
  replay: ChatMessage | null;
  assistantMessage: ChatMessage | null;
  trace: TurnTrace;
  error: TurnError | null;
}
