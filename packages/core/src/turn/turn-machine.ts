import type { ChatMessage } from "@session-bridge/shared";
import { assign, fromCallback, fromPromise, setup } from "xstate";
import { excerpt, messageText } from "../memory/turn-context.ts";
import type { RecalledMessage, RecallResult } from "../ports/conversation-memory.ts";
import type { Session } from "../ports/session-store.ts";
import type { ToolSession } from "../ports/tool-session-store.ts";
import type {
  GenerateInput,
  GenerateOutput,
  ResolvedSession,
  SaveTurnInput,
  TraceRecalled,
  TurnEffects,
  TurnError,
  TurnInput,
  TurnOutput,
  TurnState,
  TurnTrace,
} from "./turn-types.ts";

interface TurnContext {
  input: TurnInput;
  abort: AbortController;
  session: Session | null;
  replay: ChatMessage | null;
  toolSessions: ToolSession[];
  recall: RecallResult | null;
  generated: GenerateOutput | null;
  error: TurnError | null;
  trace: TurnTrace;
}

/** `stop`: a client or another process asked; `lease-lost`: another process took the session. */
export type TurnEvent = { type: "stop" } | { type: "lease-lost" };

type ResolveInput = Parameters<TurnEffects["resolveSession"]>[0];

/** A placeholder that names the actor the caller forgot to provide. */
const notProvided = <TOutput, TInput>(name: string) =>
  fromPromise<TOutput, TInput>(async () => {
    throw new Error(`turn actor "${name}" was not provided`);
  });

/**
 * @internal The error a failure in `state` becomes (shared with `runTurn`):
 * `<state>_failed` unless it is an `AppError`, which keeps its code.
 */
export function toTurnError(state: TurnState, error: unknown): TurnError {
  const code =
    typeof error === "object" && error !== null && typeof (error as { code?: unknown }).code === "string"
      ? String((error as { code: string }).code)
      : `${state}_failed`;
  // Only errors that say they are safe (an AppError's message) reach the client; the rest stay in `cause`.
  const safe = typeof error === "object" && error !== null && Symbol.for("session-bridge.app-error") in error;
  return {
    state,
    code,
    message: safe ? (error as Error).message : "The turn failed; it was recorded and can be retried.",
    cause: error,
  };
}

/**
 * One chat turn: resolve the session (and make this its one running turn),
 * load its tool sessions, recall memory, generate (streaming, with tools),
 * save, done — or `failed` with a typed error, or `aborted` after a `stop`
 * (the partial answer is still saved). A user message answered before ends in
 * `replaying` instead: its answer is sent again and no turn runs.
 *
 * While the turn is `active` two callback actors live with it: one keeps the
 * session's lease, one watches for a stop asked from another process; both
 * stop when the turn leaves `active`. Every side effect is an actor provided
 * with `.provide({ actors })`; every state a turn enters is recorded in its
 * trace with the injected clock.
 *
 * @example
 * const actor = createActor(turnMachine.provide({ actors: turnActors(effects) }), { input }).start();
 * const output = await runTurn(actor);
 */
export const turnMachine = setup({
  types: {
    context: {} as TurnContext,
    events: {} as TurnEvent,
    input: {} as TurnInput,
    output: {} as TurnOutput,
  },
  actors: {
    resolveSession: notProvided<ResolvedSession, ResolveInput>("resolveSession"),
    loadToolSessions: notProvided<ToolSession[], { session: Session }>("loadToolSessions"),
    recallMemory: notProvided<RecallResult, { session: Session; userMessage: ChatMessage }>("recallMemory"),
    generate: notProvided<GenerateOutput, GenerateInput>("generate"),
    saveTurn: notProvided<void, SaveTurnInput>("saveTurn"),
    keepLease: fromCallback<TurnEvent, { session: Session }>(() => () => {}),
    watchStopRequests: fromCallback<TurnEvent, { session: Session }>(() => () => {}),
  },
  actions: {
    recordTransition: assign(({ context }, params: { state: TurnState }) => ({
      trace: {
        ...context.trace,
        transitions: [...context.trace.transitions, { state: params.state, at: context.input.clock.now() }],
      },
    })),
    recordFailure: assign(({ context }, params: { state: TurnState; error: unknown }) => ({
      error: toTurnError(params.state, params.error),
      trace: { ...context.trace, outcome: "failed" as const },
    })),
    requestStop: ({ context }) => context.abort.abort(),
    finishTrace: assign(({ context }) => ({ trace: { ...context.trace, endedAt: context.input.clock.now() } })),
  },
  guards: {
    wasStopped: ({ context }) => context.generated?.status === "stopped",
  },
}).createMachine({
  id: "turn",
  context: ({ input }) => ({
    input,
    abort: new AbortController(),
    session: null,
    replay: null,
    toolSessions: [],
    recall: null,
    generated: null,
    error: null,
    trace: {
      id: input.turnId,
      startedAt: input.clock.now(),
      endedAt: null,
      outcome: "complete",
      model: input.model,
      transitions: [],
      recalled: [],
      toolCalls: [],
      usage: { inputTokens: 0, outputTokens: 0 },
    },
  }),
  initial: "resolvingSession",
  // A stop (or a lost lease) aborts generation; states before it end the turn at once.
  on: { stop: { actions: "requestStop" }, "lease-lost": { actions: "requestStop" } },
  states: {
    resolvingSession: {
      entry: { type: "recordTransition", params: { state: "resolvingSession" } },
      invoke: {
        src: "resolveSession",
        input: ({ context }) => ({
          resourceId: context.input.resourceId,
          sessionId: context.input.sessionId,
          userMessage: context.input.userMessage,
          trigger: context.input.trigger,
        }),
        onDone: [
          {
            guard: ({ event }) => event.output.replay !== null,
            target: "replaying",
            actions: assign({
              session: ({ event }) => event.output.session,
              replay: ({ event }) => event.output.replay,
            }),
          },
          { target: "active", actions: assign({ session: ({ event }) => event.output.session }) },
        ],
        onError: {
          target: "#turn.failed",
          actions: {
            type: "recordFailure",
            params: ({ event }) => ({ state: "resolvingSession", error: event.error }),
          },
        },
      },
    },
    replaying: { type: "final" },
    active: {
      invoke: [
        { src: "keepLease", input: ({ context }) => ({ session: context.session as Session }) },
        { src: "watchStopRequests", input: ({ context }) => ({ session: context.session as Session }) },
      ],
      initial: "loadingToolSessions",
      states: {
        loadingToolSessions: {
          entry: { type: "recordTransition", params: { state: "loadingToolSessions" } },
          on: { stop: { target: "#turn.aborted" }, "lease-lost": { target: "#turn.aborted" } },
          invoke: {
            src: "loadToolSessions",
            input: ({ context }) => ({ session: context.session as Session }),
            onDone: { target: "recallingMemory", actions: assign({ toolSessions: ({ event }) => event.output }) },
            onError: {
              target: "#turn.failed",
              actions: {
                type: "recordFailure",
                params: ({ event }) => ({ state: "loadingToolSessions", error: event.error }),
              },
            },
          },
        },
        recallingMemory: {
          entry: { type: "recordTransition", params: { state: "recallingMemory" } },
          on: { stop: { target: "#turn.aborted" }, "lease-lost": { target: "#turn.aborted" } },
          invoke: {
            src: "recallMemory",
            input: ({ context }) => ({ session: context.session as Session, userMessage: context.input.userMessage }),
            onDone: {
              target: "generating",
              actions: assign(({ context, event }) => ({
                recall: event.output,
                trace: { ...context.trace, recalled: traceRecalled(event.output.recalled) },
              })),
            },
            onError: {
              target: "#turn.failed",
              actions: {
                type: "recordFailure",
                params: ({ event }) => ({ state: "recallingMemory", error: event.error }),
              },
            },
          },
        },
        generating: {
          entry: { type: "recordTransition", params: { state: "generating" } },
          invoke: {
            src: "generate",
            input: ({ context }) => ({
              session: context.session as Session,
              toolSessions: context.toolSessions,
              recall: context.recall as RecallResult,
              userMessage: context.input.userMessage,
              signal: context.abort.signal,
            }),
            onDone: {
              target: "saving",
              actions: assign(({ context, event }) => ({
                generated: event.output,
                trace: {
                  ...context.trace,
                  outcome: event.output.status,
                  toolCalls: event.output.toolCalls,
                  usage: event.output.usage,
                },
              })),
            },
            onError: {
              target: "#turn.failed",
              actions: { type: "recordFailure", params: ({ event }) => ({ state: "generating", error: event.error }) },
            },
          },
        },
        saving: {
          entry: { type: "recordTransition", params: { state: "saving" } },
          invoke: {
            src: "saveTurn",
            input: ({ context }) => ({
              session: context.session as Session,
              userMessage: context.input.userMessage,
              assistantMessage: (context.generated as GenerateOutput).assistantMessage,
              status: (context.generated as GenerateOutput).status,
            }),
            onDone: [{ guard: "wasStopped", target: "#turn.aborted" }, { target: "#turn.done" }],
            onError: {
              target: "#turn.failed",
              actions: { type: "recordFailure", params: ({ event }) => ({ state: "saving", error: event.error }) },
            },
          },
        },
      },
    },
    done: {
      type: "final",
      entry: [{ type: "recordTransition", params: { state: "done" } }, "finishTrace"],
    },
    aborted: {
      type: "final",
      entry: [
        { type: "recordTransition", params: { state: "aborted" } },
        assign(({ context }) => ({ trace: { ...context.trace, outcome: "stopped" as const } })),
        "finishTrace",
      ],
    },
    failed: {
      type: "final",
      entry: [{ type: "recordTransition", params: { state: "failed" } }, "finishTrace"],
    },
  },
  output: ({ context }) => ({
    status: context.error ? "failed" : context.trace.outcome,
    session: context.session,
    replay: context.replay,
    assistantMessage: context.generated?.assistantMessage ?? null,
    trace: context.trace,
    error: context.error,
  }),
});

/**
 * The trace of a turn the machine ended `done` or `aborted` whose answer's
 * save then failed (a durable turn's save goes on while its end is written):
 * as the machine records a failed save, `failed` in place of its last state,
 * at the same time, and the outcome `failed`.
 */
export function failedTrace(trace: TurnTrace): TurnTrace {
  const final = trace.transitions.at(-1);
  return {
    ...trace,
    outcome: "failed",
    transitions: [...trace.transitions.slice(0, -1), { state: "failed", at: final?.at ?? new Date() }],
  };
}

/** Recalled messages as the trace (and the stream's `data-recall` part) show them. */
export function traceRecalled(recalled: RecalledMessage[]): TraceRecalled[] {
  return recalled.map((item) => ({
    messageId: item.message.id,
    sessionId: item.sessionId,
    excerpt: excerpt(messageText(item.message), 200).replace(/…$/, ""),
    score: item.score,
    foundBy: item.foundBy,
  }));
}
