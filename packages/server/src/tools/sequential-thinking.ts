import type { ToolSessionStore } from "@session-bridge/core";
import { z } from "zod";
import { updateToolState } from "./tool-state.ts";

export const sequentialThinkingName = "sequentialThinking";

export const sequentialThinkingInput = z.object({
  thought: z.string().min(1).max(20_000),
  thoughtNumber: z.number().int().min(1),
  totalThoughts: z.number().int().min(1),
  nextThoughtNeeded: z.boolean(),
  isRevision: z.boolean().optional(),
  revisesThought: z.number().int().min(1).optional(),
  branchFromThought: z.number().int().min(1).optional(),
  branchId: z.string().min(1).max(200).optional(),
});
export type SequentialThinkingInput = z.infer<typeof sequentialThinkingInput>;

interface ThinkingState extends Record<string, unknown> {
  thoughts?: SequentialThinkingInput[];
}

export interface SequentialThinkingResult {
  thoughtNumber: number;
  totalThoughts: number;
  nextThoughtNeeded: boolean;
  branches: string[];
  thoughtHistoryLength: number;
}

const maxThoughts = 500;

/**
 * Step-by-step thinking whose history lives in the session's tool session
 * `(sessionId, "sequentialThinking", NULL)`: the next turn, and the next
 * process after a restart, continue the same history.
 */
export async function sequentialThinking(
  store: ToolSessionStore,
  sessionId: string,
  input: SequentialThinkingInput,
): Promise<SequentialThinkingResult> {
  return updateToolState<ThinkingState, SequentialThinkingResult>(
    store,
    { sessionId, toolName: sequentialThinkingName, toolKey: null },
    (state) => {
      const thoughts = [...(state.thoughts ?? []), input].slice(-maxThoughts);
      const branches = [...new Set(thoughts.flatMap((thought) => (thought.branchId ? [thought.branchId] : [])))];
      return {
        state: { thoughts },
        result: {
          thoughtNumber: input.thoughtNumber,
          totalThoughts: Math.max(input.totalThoughts, input.thoughtNumber),
          nextThoughtNeeded: input.nextThoughtNeeded,
          branches,
          thoughtHistoryLength: thoughts.length,
        },
      };
    },
  );
}
