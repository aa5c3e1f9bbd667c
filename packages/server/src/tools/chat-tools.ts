import type { RepoCache, ToolSessionStore, TraceToolCall } from "@session-bridge/core";
import { AppError } from "@session-bridge/shared";
import { tool, zodSchema } from "ai";
import { searchDocs, searchDocsInput, searchDocsName } from "./search-docs.ts";
import { sequentialThinking, sequentialThinkingInput, sequentialThinkingName } from "./sequential-thinking.ts";

/**
 * A tool failed in a way that is not one of ours (a bug, the disk): the model,
 * the client and the trace see this safe message; the cause goes to the log.
 */
export class ToolFailedError extends AppError {
  readonly code = "tool_failed";

  constructor(
    readonly toolName: string,
    options: { cause: unknown },
  ) {
    super(`The ${toolName} tool failed; the failure was logged`, options);
  }
}

// Wrapped once: the AI SDK turns a tool's input schema into JSON Schema at every `streamText`
// call unless it is handed the same Schema object, which keeps its conversion (~0.3 ms a turn).
// Every turn then shares that JSON Schema object: nothing may change it in place.
const searchDocsSchema = zodSchema(searchDocsInput);
const sequentialThinkingSchema = zodSchema(sequentialThinkingInput);

export interface ChatToolDependencies {
  toolSessions: ToolSessionStore;
  repos: RepoCache;
  gitTimeoutMs: number;
}

/**
 * The tools a turn offers the model, bound to one session. Inputs are checked
 * by their zod schemas; a tool that throws becomes a tool error the model sees
 * in its next step, never a crashed turn. Every call is recorded for the trace.
 */
export function createChatTools(
  dependencies: ChatToolDependencies,
  sessionId: string,
  calls: TraceToolCall[],
  onUnexpectedError: (error: ToolFailedError) => void,
) {
  const traced =
    <TInput, TOutput>(toolName: string, run: (input: TInput) => Promise<TOutput>) =>
    async (input: TInput): Promise<TOutput> => {
      const call: TraceToolCall = { toolName, input };
      calls.push(call);
      try {
        call.output = await run(input);
        return call.output as TOutput;
      } catch (error) {
        // Stream, model and trace all see a safe message; an unexpected cause is only logged.
        const safe = AppError.isInstance(error) ? error : new ToolFailedError(toolName, { cause: error });
        if (safe instanceof ToolFailedError) onUnexpectedError(safe);
        call.error = safe.message;
        throw safe;
      }
    };
  return {
    [searchDocsName]: tool({
      description:
        "Search a git repository's files (documentation, code) for words. Calling again with the same repo and query shows the next hits.",
      inputSchema: searchDocsSchema,
      execute: traced(searchDocsName, (input) =>
        searchDocs(
          { store: dependencies.toolSessions, repos: dependencies.repos, gitTimeoutMs: dependencies.gitTimeoutMs },
          sessionId,
          input,
        ),
      ),
    }),
    [sequentialThinkingName]: tool({
      description:
        "Think step by step. Each call records one thought; the history continues across turns of this conversation.",
      inputSchema: sequentialThinkingSchema,
      execute: traced(sequentialThinkingName, (input) =>
        sequentialThinking(dependencies.toolSessions, sessionId, input),
      ),
    }),
  };
}
