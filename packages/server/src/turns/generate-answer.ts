import {
  buildTurnContext,
  type GenerateInput,
  type GenerateOutput,
  type RecallResult,
  type TraceToolCall,
  traceRecalled,
} from "@session-bridge/core";
import { AppError, type ChatMessage, chatMetadata } from "@session-bridge/shared";
import { convertToModelMessages, stepCountIs, streamText } from "ai";
import { createChatTools } from "../tools/chat-tools.ts";
import { withLoadedToolSessions } from "../tools/loaded-tool-sessions.ts";
import type { LiveTurn } from "./live-turn.ts";
import type { TurnDependencies } from "./turn-effects.ts";

/** What the client sees of a failure that is not one of ours. */
export const safeFailure = "The answer could not be completed; the turn was recorded as failed.";

type RecallPart = Extract<ChatMessage["parts"][number], { type: "data-recall" }>;

/**
 * The turn's `generating` step: announces the session (once the user message
 * is stored), tells the client what memory brought in (`data-recall`), and
 * streams the model's answer with the tools into the turn's stream. Resolves
 * with the answer as the client built it, stopped early when `signal` aborts.
 */
export async function generateAnswer(
  dependencies: TurnDependencies,
  turn: LiveTurn,
  { session, toolSessions, recall, userMessage, signal }: GenerateInput,
): Promise<GenerateOutput> {
  const writer = await turn.writer;
  const sessionPart = await turn.announce();
  const context = buildTurnContext(recall, userMessage, session.id);
  const recallPart = recallData(recall);
  if (recallPart) writer.write(recallPart);
  const toolCalls: TraceToolCall[] = [];
  const tools = createChatTools(
    // The tool sessions loaded as the turn began: a tool's first call needs no read.
    { ...dependencies.tools, toolSessions: withLoadedToolSessions(dependencies.tools.toolSessions, toolSessions) },
    session.id,
    toolCalls,
    (error) => turn.logger.error({ err: error.cause, tool: error.toolName }, "tool failed"),
  );
  let modelError: unknown;
  const result = streamText({
    model: dependencies.model,
    instructions: context.system,
    messages: await convertToModelMessages(context.messages),
    tools,
    stopWhen: stepCountIs(dependencies.maxSteps),
    abortSignal: signal,
    onError: ({ error }) => {
      modelError = error;
    },
  });
  let usage = { inputTokens: 0, outputTokens: 0 };
  const final = await new Promise<{ message: ChatMessage | undefined; aborted: boolean }>((resolve) => {
    writer.merge(
      result.toUIMessageStream<ChatMessage>({
        sendStart: false,
        // Sources the model cites reach the client, as reasoning does by default.
        sendSources: true,
        generateMessageId: () => turn.assistantId,
        // Tool errors are ours and say what went wrong safely; anything else is hidden.
        onError: (error) => AppError.safeMessage(error, safeFailure),
        messageMetadata: ({ part }) => {
          if (part.type !== "finish") return undefined;
          usage = { inputTokens: part.totalUsage.inputTokens ?? 0, outputTokens: part.totalUsage.outputTokens ?? 0 };
          return chatMetadata(session.id, dependencies.modelId, "complete", usage);
        },
        onEnd: ({ messages, isAborted }) => resolve({ message: messages.at(-1), aborted: isAborted }),
      }),
    );
  });
  if (modelError) {
    turn.errorWritten = true; // toUIMessageStream already ended the stream with an error part
    throw modelError;
  }
  const status = final.aborted || signal.aborted ? "stopped" : "complete";
  const metadata = chatMetadata(session.id, dependencies.modelId, status, usage);
  const assistantMessage: ChatMessage = {
    ...(final.message ?? { parts: [] }),
    // Stored as the client builds it: the data parts written here, then the model's.
    parts: [sessionPart, ...(recallPart ? [recallPart] : []), ...(final.message?.parts ?? [])],
    id: turn.assistantId,
    role: "assistant",
    metadata,
  };
  // A stopped stream ends without `finish`: the client still learns how its message ended.
  if (status === "stopped") writer.write({ type: "message-metadata", messageMetadata: metadata });
  return { assistantMessage, status, usage, toolCalls };
}

/**
 * What the model was shown from memory, for the UI: `data-recall`, sent before
 * the model's parts when recall found anything (and kept in the saved answer).
 */
function recallData(recall: RecallResult): RecallPart | undefined {
  const recalled = traceRecalled(recall.recalled);
  const memories = recall.memories.map(({ id, scope, text }) => ({ id, scope, text }));
  if (recalled.length === 0 && memories.length === 0) return undefined;
  return { type: "data-recall", id: "recall", data: { recalled, memories } };
}
