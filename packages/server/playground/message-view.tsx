import type { ChatMessage, RecallData } from "@session-bridge/shared";
import { getToolName, isToolUIPart } from "ai";

type Part = ChatMessage["parts"][number];

const toolStates: Record<string, string> = {
  "input-streaming": "calling…",
  "input-available": "running…",
  "output-available": "done",
  "output-error": "failed",
  "output-denied": "denied",
};

/** One message: its text, reasoning, tool calls, recalled memories and the server's metadata. */
export function MessageView({ message }: { message: ChatMessage }) {
  const { model, status, usage } = message.metadata ?? {};
  return (
    <li className={`message ${message.role}`} data-role={message.role} data-message-id={message.id}>
      <div className="author">{message.role === "user" ? "You" : "Assistant"}</div>
      {message.parts.map((part, index) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: parts have no ids and never move
        <PartView key={index} part={part} />
      ))}
      {message.role === "assistant" && model && (
        <div className="meta">
          {[model, status, usage?.totalTokens === undefined ? undefined : `${usage.totalTokens} tokens`]
            .filter(Boolean)
            .join(" · ")}
        </div>
      )}
    </li>
  );
}

function PartView({ part }: { part: Part }) {
  if (part.type === "text") return <p className="text">{part.text}</p>;
  if (part.type === "reasoning") {
    return (
      <details className="reasoning">
        <summary>Reasoning</summary>
        <p className="text">{part.text}</p>
      </details>
    );
  }
  if (part.type === "data-recall") return <RecallBox recall={part.data} />;
  if (part.type === "file" && part.mediaType.startsWith("image/")) {
    return <img className="file" src={part.url} alt={part.filename ?? "attached image"} />;
  }
  if (part.type === "source-url") {
    return (
      <a className="source" href={part.url} target="_blank" rel="noreferrer">
        {part.title ?? part.url}
      </a>
    );
  }
  if (isToolUIPart(part)) {
    const name = getToolName(part);
    return (
      <details className={`tool ${part.state}`} data-tool={name}>
        <summary>
          Tool <strong>{name}</strong> · {toolStates[part.state] ?? part.state}
        </summary>
        <div className="scope">input</div>
        <pre>{JSON.stringify(part.input, null, 2)}</pre>
        {part.state === "output-available" && (
          <>
            <div className="scope">output</div>
            <pre>{JSON.stringify(part.output, null, 2)}</pre>
          </>
        )}
        {part.state === "output-error" && <pre className="error">{part.errorText}</pre>}
      </details>
    );
  }
  return null;
}

function RecallBox({ recall }: { recall: RecallData }) {
  if (recall.recalled.length === 0 && recall.memories.length === 0) return null;
  return (
    <details className="recall">
      <summary>
        Recalled {recall.recalled.length} {recall.recalled.length === 1 ? "message" : "messages"} and{" "}
        {recall.memories.length} {recall.memories.length === 1 ? "memory" : "memories"}
      </summary>
      <ul>
        {recall.memories.map((memory) => (
          <li key={memory.id}>
            <span className="scope">{memory.scope} memory</span> {memory.text}
          </li>
        ))}
        {recall.recalled.map((hit) => (
          <li key={hit.messageId}>
            <span className="scope">score {hit.score.toFixed(2)}</span> {hit.excerpt}
          </li>
        ))}
      </ul>
    </details>
  );
}
