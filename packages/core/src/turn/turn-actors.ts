import type { ChatMessage } from "@session-bridge/shared";
import { fromCallback, fromPromise } from "xstate";
import type { Session } from "../ports/session-store.ts";
import type { TurnEvent } from "./turn-machine.ts";
import type { GenerateInput, SaveTurnInput, TurnEffects } from "./turn-types.ts";

type ResolveInput = Parameters<TurnEffects["resolveSession"]>[0];

/** Wraps the plain functions of {@link TurnEffects} as the machine's actors. */
export function turnActors(effects: TurnEffects) {
  return {
    resolveSession: fromPromise(({ input }: { input: ResolveInput }) => effects.resolveSession(input)),
    loadToolSessions: fromPromise(({ input }: { input: { session: Session } }) => effects.loadToolSessions(input)),
    recallMemory: fromPromise(({ input }: { input: { session: Session; userMessage: ChatMessage } }) =>
      effects.recallMemory(input),
    ),
    generate: fromPromise(({ input }: { input: GenerateInput }) => effects.generate(input)),
    saveTurn: fromPromise(({ input }: { input: SaveTurnInput }) => effects.saveTurn(input)),
    // Callback actors: what they start (an interval) lives exactly as long as the state that invokes them.
    keepLease: fromCallback<TurnEvent, { session: Session }>(({ input, sendBack }) =>
      effects.keepLease(input, () => sendBack({ type: "lease-lost" })),
    ),
    watchStopRequests: fromCallback<TurnEvent, { session: Session }>(({ input, sendBack }) =>
      effects.watchStopRequests(input, () => sendBack({ type: "stop" })),
    ),
  };
}
