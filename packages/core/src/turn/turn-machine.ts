import type { UIMessage } from "ai";
import { type Actor, assign, fromPromise, setup, toPromise } from "xstate";
import { excerpt, messageText } from "../memory/turn-context.ts";
import type { RecalledMessage, RecallResult } from "../ports/conversation-memory.ts";
import type { Session } from "../ports/session-store.ts";
import type { ToolSession } from "../ports/tool-session-store.ts";
import type {
  GenerateInput,
  GenerateOutput,
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
  toolSessions: ToolSession[];
  recall: RecallResult | null;
  generated: GenerateOutput | null;
  error: TurnError | null;
  trace: TurnTrace;
}

type TurnEvent = { type: "stop" };

/** A placeholder that names the actor the caller forgot to provide. */
const notProvided = <TOutput, TInput>(name: string) =>
  fromPromise<TOutput, TInput>(async () => {
    throw new Error(`turn actor "${name}" was not provided`);
  });

/** Codes of errors the machine reports; `AppError`s keep their own. */
function toTurnError(state: TurnState, error: unknown): TurnError {
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
 * One chat turn: resolve the session, load its tool sessions, recall memory,
 * generate (streaming, with tools), save, done — or `failed` with a typed
 * error, or `aborted` after a `stop` (the partial answer is still saved).
 * Every side effect is an actor provided with `.provide({ actors })`; every
 * state entered is recorded in the trace with the injected clock.
 *
 * @example
 * const actor = createActor(turnMachine.provide({ actors: turnActors(effects) }), { input }).start();
 * const output = (await toPromise(actor)) as TurnOutput;
 */
export const turnMachine = setup({
  types: {
    context: {} as TurnContext,
    events: {} as TurnEvent,
    input: {} as TurnInput,
    output: {} as TurnOutput,
  },
  actors: {
    resolveSession: notProvided<Session, { resourceId: string; sessionId: string | null }>("resolveSession"),
    loadToolSessions: notProvided<ToolSession[], { session: Session }>("loadToolSessions"),
    recallMemory: notProvided<RecallResult, { session: Session; userMessage: UIMessage }>("recallMemory"),
    generate: notProvided<GenerateOutput, GenerateInput>("generate"),
    saveTurn: notProvided<void, SaveTurnInput>("saveTurn"),
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
  on: { stop: { actions: "requestStop" } },
  states: {
    resolvingSession: {
      entry: { type: "recordTransition", params: { state: "resolvingSession" } },
      on: { stop: { target: "aborted" } },
      invoke: {
        src: "resolveSession",
        input: ({ context }) => ({ resourceId: context.input.resourceId, sessionId: context.input.sessionId }),
        onDone: { target: "loadingToolSessions", actions: assign({ session: ({ event }) => event.output }) },
        onError: {
          target: "failed",
          actions: {
            type: "recordFailure",
            params: ({ event }) => ({ state: "resolvingSession", error: event.error }),
          },
        },
      },
    },
    loadingToolSessions: {
      entry: { type: "recordTransition", params: { state: "loadingToolSessions" } },
      on: { stop: { target: "aborted" } },
      invoke: {
        src: "loadToolSessions",
        input: ({ context }) => ({ session: context.session as Session }),
        onDone: { target: "recallingMemory", actions: assign({ toolSessions: ({ event }) => event.output }) },
        onError: {
          target: "failed",
          actions: {
            type: "recordFailure",
            params: ({ event }) => ({ state: "loadingToolSessions", error: event.error }),
          },
        },
      },
    },
    recallingMemory: {
      entry: { type: "recordTransition", params: { state: "recallingMemory" } },
      on: { stop: { target: "aborted" } },
      invoke: {
        src: "recallMemory",
        input: ({ context }) => ({ session: context.session as Session, userMessage: context.input.userMessage }),
        onDone: {
          target: "generating",
          actions: assign(({ context, event }) => ({
            recall: event.output,
            trace: {
              ...context.trace,
              recalled: traceRecalled(event.output.recalled),
            },
          })),
        },
        onError: {
          target: "failed",
          actions: { type: "recordFailure", params: ({ event }) => ({ state: "recallingMemory", error: event.error }) },
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
          target: "failed",
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
        onDone: [{ guard: "wasStopped", target: "aborted" }, { target: "done" }],
        onError: {
          target: "failed",
          actions: { type: "recordFailure", params: ({ event }) => ({ state: "saving", error: event.error }) },
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
    assistantMessage: context.generated?.assistantMessage ?? null,
    trace: context.trace,
    error: context.error,
  }),
});

/**
 * Runs a started turn to its end. A failure anywhere in it (in an actor, which
 * the machine routes to `failed` itself, or in an action, which stops the
 * actor) ends as a `failed` output with the trace as far as it got: a turn
 * never ends without its trace.
 *
 * @example
 * const output = await runTurn(createActor(machine, { input }).start());
 */
export async function runTurn(actor: Actor<typeof turnMachine>): Promise<TurnOutput> {
  try {
    return (await toPromise(actor)) as TurnOutput;
  } catch (error) {
    const snapshot = actor.getSnapshot();
    const { context } = snapshot;
    // A running step (generation) must not outlive its machine.
    context.abort.abort();
    const state = (typeof snapshot.value === "string" ? snapshot.value : "failed") as TurnState;
    const at = context.input.clock.now();
    return {
      status: "failed",
      session: context.session,
      assistantMessage: context.generated?.assistantMessage ?? null,
      trace: {
        ...context.trace,
        outcome: "failed",
        endedAt: at,
        transitions: [...context.trace.transitions, { state: "failed", at }],
      },
      error: toTurnError(state, error),
    };
  }
}

/** Recalled messages as the trace (and the stream's `data-recall` part) show them. */
export function traceRecalled(recalled: RecalledMessage[]): TraceRecalled[] {
  return recalled.map((item) => ({
    messageId: item.message.id,
    sessionId: item.sessionId,
    excerpt: excerpt(messageText(item.message), 200).replace(/…$/, ""),
    score: item.score,
  }));
}

/** Wraps plain async functions as the machine's actors. */
export function turnActors(effects: TurnEffects) {
  return {
    resolveSession: fromPromise(({ input }: { input: { resourceId: string; sessionId: string | null } }) =>
      effects.resolveSession(input),
    ),
    loadToolSessions: fromPromise(({ input }: { input: { session: Session } }) => effects.loadToolSessions(input)),
    recallMemory: fromPromise(({ input }: { input: { session: Session; userMessage: UIMessage } }) =>
      effects.recallMemory(input),
    ),
    generate: fromPromise(({ input }: { input: GenerateInput }) => effects.generate(input)),
    saveTurn: fromPromise(({ input }: { input: SaveTurnInput }) => effects.saveTurn(input)),
  };
}
