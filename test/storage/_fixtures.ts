import type { TestContext } from "node:test";
import type { NewTurn, TurnTrace } from "@session-bridge/core";
import { v7 as uuidv7 } from "uuid";
import { makeClock, type TestClock } from "../_setup.ts";
import type { OpenedStorage, StorageBackend } from "./backend.ts";

/** A UUIDv7 as the stores make them: lower case. */
export const uuidv7Pattern = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** A fresh database on the backend with a clock that only moves when told to. */
export async function openWithClock(
  backend: StorageBackend,
  t: TestContext,
): Promise<OpenedStorage & { clock: TestClock }> {
  const clock = makeClock();
  return { ...(await backend.open(t, { clock })), clock };
}

/** A turn of `sessionId` as the turn runner begins it. */
export function newTurn(sessionId: string, fields: Partial<NewTurn> = {}): NewTurn {
  return {
    id: uuidv7(),
    sessionId,
    resourceId: "alice",
    chatId: null,
    userMessageId: uuidv7(),
    assistantMessageId: uuidv7(),
    model: "local:demo",
    leaseId: uuidv7(),
    owner: "host-a:100:instance-1",
    ...fields,
  };
}

/** A finished turn's trace starting at `startedAt`. */
export function turnTrace(startedAt: Date, fields: Partial<TurnTrace> = {}): TurnTrace {
  return {
    id: uuidv7(),
    startedAt,
    endedAt: new Date(startedAt.getTime() + 1500),
    outcome: "complete",
    model: "local:demo",
    transitions: [
      { state: "resolvingSession", at: startedAt },
      { state: "generating", at: new Date(startedAt.getTime() + 10) },
      { state: "done", at: new Date(startedAt.getTime() + 1500) },
    ],
    recalled: [{ messageId: "m-1", sessionId: "s-1", excerpt: "an earlier message", score: 0.75 }],
    toolCalls: [{ toolName: "search_docs", input: { query: "retry" }, output: { hits: 2 } }],
    usage: { inputTokens: 12, outputTokens: 34 },
    ...fields,
  };
}
