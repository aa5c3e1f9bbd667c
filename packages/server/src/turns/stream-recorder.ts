import type { TurnLog } from "@session-bridge/core";
import type { ChatMessage } from "@session-bridge/shared";
import type { UIMessageChunk } from "ai";
import { messageOfChunks } from "./replay.ts";

export interface StreamRecorderOptions {
  turnLog: TurnLog;
  turnId: string;
  /** Saves the answer as far as it got; called after every finished model step. */
  saveStep: (message: ChatMessage) => Promise<void>;
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
  message(): Promise<ChatMessage | undefined>;
}

/**
 * Appends a turn's UI message stream to its chunk log in batches (not a write
 * per token) and saves the answer as far as it got at every finished step
 * (when the next step begins: the last one is the turn's final save). Writes
 * happen one after another in order; a step's chunks are logged before its
 * save, so the log always holds at least what was saved.
 */
export function createStreamRecorder(options: StreamRecorderOptions): StreamRecorder {
  const flushMs = options.flushMs ?? 50;
  const maxBatch = options.maxBatch ?? 1024;
  const all: UIMessageChunk[] = [];
  let buffer: UIMessageChunk[] = [];
  let seq = 0;
  let timer: NodeJS.Timeout | undefined;
  let writes: Promise<void> = Promise.resolve();
  let failure: unknown;
  let stepEnd: number | undefined;

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
      if (chunk.type === "finish-step") {
        // The log gets the step at once; the step's own save waits for the next
        // step to begin: the last step needs none, the turn's final save follows.
        flush();
        stepEnd = all.length;
      } else if (chunk.type === "start-step" && stepEnd !== undefined) {
        const upTo = stepEnd;
        stepEnd = undefined;
        enqueue(async () => {
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
