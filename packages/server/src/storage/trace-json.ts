import type { TurnTrace } from "@session-bridge/core";

/** A trace stored as JSON has its dates as strings; turn them back. */
export function reviveTrace(trace: TurnTrace): TurnTrace {
  return {
    ...trace,
    startedAt: new Date(trace.startedAt),
    endedAt: trace.endedAt ? new Date(trace.endedAt) : null,
    transitions: trace.transitions.map((transition) => ({ ...transition, at: new Date(transition.at) })),
  };
}
