import { useChat } from "@ai-sdk/react";
import type { ChatMessage } from "@session-bridge/shared";
import { DefaultChatTransport } from "ai";
import { type FormEvent, type KeyboardEvent, useEffect, useRef, useState } from "react";
import { describeError, type PlaygroundApi } from "./api.ts";
import { MessageView } from "./message-view.tsx";

export interface ConversationProps {
  /** `useChat`'s id; also sent as the chat `id`. */
  chatKey: string;
  /** Null until the server created the session on the first turn. */
  sessionId: string | null;
  initialMessages: ChatMessage[];
  api: PlaygroundApi;
  onSessionCreated(chatKey: string, sessionId: string): void;
  onTurnFinished(): void;
  onUnauthorized(): void;
}

/** One session's conversation on `useChat`; mounted afresh (by key) for every switch. */
export function Conversation(props: ConversationProps) {
  const { chatKey, initialMessages, api, onSessionCreated, onTurnFinished, onUnauthorized } = props;
  const sessionId = useRef(props.sessionId);
  const [input, setInput] = useState("");
  const [transport] = useState(
    () =>
      new DefaultChatTransport<ChatMessage>({
        api: "/api/chat",
        headers: () => api.headers(),
        // History lives on the server: send only the new message and the session it belongs to.
        prepareSendMessagesRequest: ({ id, messages, trigger, messageId }) => ({
          body: { id, messages: messages.slice(-1), trigger, messageId, sessionId: sessionId.current },
        }),
        // A turn still running (after a reload, say) replays from its start into the same assistant message.
        prepareReconnectToStreamRequest: () => ({ api: `/api/chat/${sessionId.current}/stream` }),
      }),
  );
  const { messages, sendMessage, status, error, stop } = useChat<ChatMessage>({
    id: chatKey,
    messages: initialMessages,
    transport,
    resume: props.sessionId !== null,
    onData: (part) => {
      if (part.type !== "data-session" || sessionId.current === part.data.sessionId) return;
      sessionId.current = part.data.sessionId;
      onSessionCreated(chatKey, part.data.sessionId);
    },
    onFinish: () => onTurnFinished(),
    onError: (failure) => {
      if (describeError(failure).status === 401) onUnauthorized();
    },
  });
  const busy = status === "submitted" || status === "streaming";

  const list = useRef<HTMLOListElement>(null);
  // biome-ignore lint/correctness/useExhaustiveDependencies: follow the conversation whenever it grows
  useEffect(() => {
    if (list.current) list.current.scrollTop = list.current.scrollHeight;
  }, [messages]);

  const submit = (event?: FormEvent) => {
    event?.preventDefault();
    const text = input.trim();
    if (!text || busy) return;
    setInput("");
    void sendMessage({ text });
  };
  const submitOnEnter = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) submit(event);
  };
  // The server's stop saves the partial answer and ends the stream; aborting
  // the request alone would leave the turn running on the server.
  const stopTurn = () => {
    const running = sessionId.current;
    if (running) api.stopSession(running).catch(() => stop());
    else void stop();
  };

  return (
    <main className="conversation">
      <ol ref={list} className="messages" aria-label="Conversation">
        {messages.length === 0 && (
          <li className="empty">
            Ask anything. With the offline demo model, try <code>/think an idea</code> or{" "}
            <code>/search https://github.com/owner/repo words</code> to see the tools.
          </li>
        )}
        {messages.map((message) => (
          <MessageView key={message.id} message={message} />
        ))}
      </ol>
      {error && (
        <p role="alert" className="error">
          {describeError(error).message}
        </p>
      )}
      <form className="composer" onSubmit={submit}>
        <textarea
          aria-label="Message"
          placeholder="Write a message (Enter sends, Shift+Enter for a new line)"
          value={input}
          rows={2}
          onChange={(event) => setInput(event.target.value)}
          onKeyDown={submitOnEnter}
        />
        {busy ? (
          <button type="button" onClick={stopTurn}>
            Stop
          </button>
        ) : (
          <button type="submit" disabled={!input.trim()}>
            Send
          </button>
        )}
      </form>
    </main>
  );
}
