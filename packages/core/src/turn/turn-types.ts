import type { UIMessage } from "ai";
import type { Clock } from "../ports/clock.ts";
import type { RecallResult } from "../ports/conversation-memory.ts";
import type { Session } from "../ports/session-store.ts";
import type { ToolSession } from "../ports/tool-session-store.ts";

/** How a turn ended, as stored with the assistant message and in the trace. */
export type TurnStatus = "complete" | "stopped" | "interrupted" | "failed";

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

export interface TraceRecalled {
  messageId: string;
  sessionId: string;
  /** The first 200 characters of the recalled message. */
  excerpt: string;
  score: number;
}

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
  userMessage: UIMessage;
  /** `provider:model`, for the trace. */
  model: string;
  clock: Clock;
}

export interface GenerateInput {
  session: Session;
  toolSessions: ToolSession[];
  recall: RecallResult;
  userMessage: UIMessage;
  /** Aborted by a `stop` event: end generation and resolve with what there is. */
  signal: AbortSignal;
}

export interface GenerateOutput {
  assistantMessage: UIMessage;
  /** `stopped` when the signal ended generation early. */
  status: "complete" | "stopped";
  usage: TokenUsage;
  toolCalls: TraceToolCall[];
}

export interface SaveTurnInput {
  session: Session;
  userMessage: UIMessage;
  assistantMessage: UIMessage;
  status: TurnStatus;
}

/**
 * The side effects a turn needs, injected with `turnMachine.provide({ actors })`
 * (each as `fromPromise`); `packages/core` performs none itself.
 */
export interface TurnEffects {
  resolveSession(input: { resourceId: string; sessionId: string | null }): Promise<Session>;
  loadToolSessions(input: { session: Session }): Promise<ToolSession[]>;
  recallMemory(input: { session: Session; userMessage: UIMessage }): Promise<RecallResult>;
  generate(input: GenerateInput): Promise<GenerateOutput>;
  saveTurn(input: SaveTurnInput): Promise<void>;
}

/** What a finished turn machine outputs, whatever its final state. */
export interface TurnOutput {
  status: TurnStatus;
  session: Session | null;
  assistantMessage: UIMessage | null;
  trace: TurnTrace;
  error: TurnError | null;
}
