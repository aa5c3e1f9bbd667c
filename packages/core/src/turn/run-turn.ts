import { type Actor, toPromise } from "xstate";
import { toTurnError, type turnMachine } from "./turn-machine.ts";
import type { TurnOutput, TurnState } from "./turn-types.ts";

/** A started turn's actor. */
export type TurnActor = Actor<typeof turnMachine>;

/**
 * Runs a started turn to its end. A failure anywhere in it (in an actor, which
 * the machine routes to `failed` itself, or in an action, which stops the
 * actor) ends as a `failed` output with the trace as far as it got: a turn
 * never ends without its trace.
 *
 * @example
 * const output = await runTurn(createActor(machine, { input }).start());
 */
export async function runTurn(actor: TurnActor): Promise<TurnOutput> {
  try {
    return (await toPromise(actor)) as TurnOutput;
  } catch (error) {
    const snapshot = actor.getSnapshot();
    const { context } = snapshot;
    // A running step (generation) must not outlive its machine.
    context.abort.abort();
    const state = leafState(snapshot.value);
    const at = context.input.clock.now();
    return {
      status: "failed",
      session: context.session,
      replay: null,
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

/** `"generating"` of `{ active: "generating" }`. */
function leafState(value: unknown): TurnState {
  let current = value;
  while (typeof current === "object" && current !== null) current = Object.values(current)[0];
  return (typeof current === "string" ? current : "failed") as TurnState;
}
