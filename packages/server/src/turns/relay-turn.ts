import type { UIMessageChunk } from "ai";
import type { LiveTurn } from "./live-turn.ts";

/**
 * The client's view of a turn's stream. The server reads the stream to its end
 * whether or not the client stays (so the turn always completes), logging
 * every chunk; the client gets each chunk as it comes, except `finish`, which
 * waits until the turn has ended (saved, logged as ended, its lease released),
 * so a client that sends its next message the moment `finish` arrives never
 * finds the session busy. `finalize` may name a failure found as the turn
 * ended: it reaches the client as an `error` part before `finish`.
 */
export function relayTurn(
  source: ReadableStream<UIMessageChunk>,
  turn: LiveTurn,
  finalize: () => Promise<{ failure?: string }>,
): ReadableStream<UIMessageChunk> {
  let client!: ReadableStreamDefaultController<UIMessageChunk>;
  let clientGone = false;
  const forClient = new ReadableStream<UIMessageChunk>({
    start(controller) {
      client = controller;
    },
    cancel() {
      clientGone = true; // a disconnect: the turn goes on
    },
  });
  const send = (chunk: UIMessageChunk) => {
    if (clientGone) return;
    try {
      client.enqueue(chunk);
    } catch {
      clientGone = true;
    }
  };
  const relay = async () => {
    const reader = source.getReader();
    let finish: UIMessageChunk | undefined;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        turn.recorder?.record(value);
        if (value.type === "finish") finish = value;
        else send(value);
      }
    } finally {
      const { failure } = await finalize();
      if (failure) send({ type: "error", errorText: failure });
      if (finish) send(finish);
      if (!clientGone) client.close();
    }
  };
  relay().catch((failure) => turn.logger.error({ err: failure }, "turn could not be finished"));
  return forClient;
}
