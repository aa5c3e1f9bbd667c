import type {
  LanguageModelV4,
  LanguageModelV4CallOptions,
  LanguageModelV4Content,
  LanguageModelV4StreamPart,
  LanguageModelV4Usage,
} from "@ai-sdk/provider";

export const demoLabel = "[Offline demo model]";

/**
 * `MODEL=local:demo`: an offline model of our own that needs no key and no
 * network. It answers deterministically, shows what memory recalled, and calls
 * a tool when the user writes `/search <repo> <query>` or `/think <thought>`.
 * Every answer starts with {@link demoLabel}.
 */
export class LocalDemoModel implements LanguageModelV4 {
  readonly specificationVersion = "v4";
  readonly provider = "local";
  readonly modelId = "demo";
  readonly supportedUrls = {};

  constructor(private readonly options: { delayMs?: number } = {}) {}

  async doGenerate(options: LanguageModelV4CallOptions) {
    const content = respond(options);
    return {
      content,
      finishReason: finishReasonOf(content),
      usage: usageOf(options, content),
      warnings: [],
    };
  }

  async doStream(options: LanguageModelV4CallOptions) {
    const content = respond(options);
    const delayMs = this.options.delayMs ?? 15;
    const parts: LanguageModelV4StreamPart[] = [{ type: "stream-start", warnings: [] }];
    for (const [index, item] of content.entries()) {
      if (item.type === "text") {
        const id = `text-${index}`;
        parts.push({ type: "text-start", id });
        for (const word of item.text.match(/\S+\s*/g) ?? []) parts.push({ type: "text-delta", id, delta: word });
        parts.push({ type: "text-end", id });
      } else {
        parts.push(item as LanguageModelV4StreamPart);
      }
    }
    parts.push({ type: "finish", finishReason: finishReasonOf(content), usage: usageOf(options, content) });
    const signal = options.abortSignal;
    const stream = new ReadableStream<LanguageModelV4StreamPart>({
      async start(controller) {
        for (const part of parts) {
          if (signal?.aborted) break;
          controller.enqueue(part);
          if (part.type === "text-delta" && delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
        }
        controller.close();
      },
    });
    return { stream };
  }
}

function respond(options: LanguageModelV4CallOptions): LanguageModelV4Content[] {
  const last = options.prompt.at(-1);
  if (last?.role === "tool") {
    const result = last.content.find((part) => part.type === "tool-result");
    const summary = result ? JSON.stringify(result.output).slice(0, 600) : "nothing";
    return [{ type: "text", text: `${demoLabel} The ${result?.toolName ?? "tool"} tool returned: ${summary}` }];
  }
  const userText =
    last?.role === "user"
      ? last.content
          .flatMap((part) => (part.type === "text" ? [part.text] : []))
          .join(" ")
          .trim()
      : "";
  const search = /^\/search\s+(\S+)\s+(.+)$/s.exec(userText);
  if (search) {
    return [toolCall("search_docs", { repo: search[1], query: search[2]?.trim() })];
  }
  const think = /^\/think\s+(.+)$/s.exec(userText);
  if (think) {
    return [
      toolCall("sequentialThinking", {
        thought: think[1]?.trim(),
        thoughtNumber: 1,
        totalThoughts: 1,
        nextThoughtNeeded: false,
      }),
    ];
  }
  const system = options.prompt.find((message) => message.role === "system")?.content ?? "";
  const recalled = system.split("\n").filter((line) => line.startsWith("- ["));
  const memories = system.includes("standing instructions");
  const recallText =
    recalled.length === 0
      ? "Memory recalled nothing from earlier conversations."
      : `Memory recalled ${recalled.length} earlier message${recalled.length === 1 ? "" : "s"}, the first: ${recalled[0]?.slice(2, 200)}`;
  return [
    {
      type: "text",
      text: `${demoLabel} You said: "${userText.slice(0, 300)}". ${recallText}${memories ? " Your standing instructions are in my context." : ""} Set MODEL to a real provider for real answers.`,
    },
  ];
}

let callCounter = 0;
function toolCall(toolName: string, input: unknown): LanguageModelV4Content {
  callCounter += 1;
  return { type: "tool-call", toolCallId: `demo-call-${callCounter}`, toolName, input: JSON.stringify(input) };
}

function finishReasonOf(content: LanguageModelV4Content[]) {
  return content.some((part) => part.type === "tool-call")
    ? { unified: "tool-calls" as const, raw: "tool-calls" }
    : { unified: "stop" as const, raw: "stop" };
}

/** Rough token counts (words), so usage and traces show something real. */
function usageOf(options: LanguageModelV4CallOptions, content: LanguageModelV4Content[]): LanguageModelV4Usage {
  const words = (text: string) => text.split(/\s+/).filter(Boolean).length;
  const input = words(JSON.stringify(options.prompt));
  const output = content.reduce((sum, part) => sum + (part.type === "text" ? words(part.text) : 10), 0);
  return {
    inputTokens: { total: input, noCache: input, cacheRead: 0, cacheWrite: 0 },
    outputTokens: { total: output, text: output, reasoning: 0 },
  };
}
