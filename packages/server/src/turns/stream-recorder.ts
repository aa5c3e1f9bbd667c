import type { UIMessage, UIMessageChunk } from "ai";
import type { TurnLog } from "../storage/turn-log.ts";
import { messageOfChunks } from "./replay.ts";

export interface StreamRecorderOptions {
  turnLog: TurnLog;
  turnId: string;
  /** Saves the answer as far as it got; called after every finished model step. */
  saveStep: (message: UIMessage) => Promise<void>;
  /** Longest a chunk waits in memory before its batch is written. */
  flushMs?: number;
  /** A batch is written once it holds this many chunks. */
  maxBatch?: number;
}

export interface StreamRecorder {
  record(chunk: UIMessageChunk): void;
  /** Writes what is buffered and waits for every write and step save. */
  close(): Promise<void>;
  /** Waits for the writes and step saves already queued. */
  idle(): Promise<void>;
  /** The answer as the stream built it so far. */
  message(): Promise<UIMessage | undefined>;
}

/**
 * Appends a turn's UI message stream to its chunk log in batches (not a write
 * per token) and saves the answer at every finished step. Writes happen one
 * after another in order; a batch is flushed before each step save, so the log
 * always holds at least what was saved.
 */
export function createStreamRecorder(options: StreamRecorderOptions): StreamRecorder {
  const flushMs = options.flushMs ?? 50;
  const maxBatch = options.maxBatch ?? 256;
  const all: UIMessageChunk[] = [];
  let buffer: UIMessageChunk[] = [];
  let seq = 0;
  let timer: NodeJS.Timeout | undefined;
  let writes: Promise<void> = Promise.resolve();
  let failure: unknown;
  let finished = false;

  const enqueue = (work: () => Promise<void>) => {
    writes = writes.then(work).catch((error: unknown) => {
      failure ??= error;
    });
  };
  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    if (buffer.length === 0) return;
    const batch = buffer;
    const batchSeq = seq++;
    buffer = [];
    enqueue(() => options.turnLog.append(options.turnId, batchSeq, batch));
  };

  return {
    record(chunk) {
      all.push(chunk);
      buffer.push(chunk);
      if (chunk.type === "finish") finished = true;
      if (chunk.type === "finish-step") {
        flush();
        const upTo = all.length;
        enqueue(async () => {
          // The last step needs no save of its own: the turn's final save follows,
          // and the chunk log (flushed at `finish`) covers the moment between.
          if (finished) return;
          const message = await messageOfChunks(all.slice(0, upTo));
          if (message) await options.saveStep(message);
        });
      } else if (buffer.length >= maxBatch || chunk.type === "finish" || chunk.type === "error") {
        flush();
      } else {
        timer ??= setTimeout(flush, flushMs);
      }
    },

    async close() {
      flush();
      await writes;
      if (failure) throw failure;
    },

    idle: () => writes,

    message: () => messageOfChunks(all),
  };
}
