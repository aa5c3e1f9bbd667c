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
  /**
   * Waits for every write and step save, and hands over what is still
   * buffered as the log's last batch, for the caller to write with the turn's
   * end (nothing is recorded after). Throws when a write failed.
   */
  finish(): Promise<{ seq: number; chunks: UIMessageChunk[] } | undefined>;
  /** Waits for the writes and step saves already queued. */
  idle(): Promise<void>;
  /** The answer as the stream built it so far. */
  message(): Promise<ChatMessage | undefined>;
}

/**
 * Appends a turn's UI message stream to its chunk log in batches (not a write
 * per token: a batch at most every `flushMs`) and saves the answer as far as
 * it got at every finished step (when the next step begins: the last one is
 * the turn's final save). Writes happen one after another in order; a step's
 * chunks are logged before its save, so the log holds at least what each step
 * save holds. The last batch is not written here: it goes with the turn's end
 * (one write), so a turn that answers at once costs no chunk write of its own.
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
      if (chunk.type === "start-step" && stepEnd !== undefined) {
        // The finished step's save waits for the next step to begin (the last
        // step needs none: the turn's final save follows), and for its chunks
        // to be logged first.
        const upTo = stepEnd;
        stepEnd = undefined;
        flush();
        enqueue(async () => {
          const message = await messageOfChunks(all.slice(0, upTo));
          if (message) await options.saveStep(message);
        });
        return;
      }
      if (chunk.type === "finish-step") stepEnd = all.length;
      if (buffer.length >= maxBatch) flush();
      else timer ??= setTimeout(flush, flushMs);
    },

    async finish() {
      clearTimeout(timer);
      timer = undefined;
      await writes;
      if (failure) throw failure;
      const last = buffer.length > 0 ? { seq: seq++, chunks: buffer } : undefined;
      buffer = [];
      return last;
    },

    idle: () => writes,

    message: () => messageOfChunks(all),
  };
}
