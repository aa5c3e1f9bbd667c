import { maxMemoryLength, type NewMemory } from "@session-bridge/core";
import { InvalidRequestError, isCleanText } from "@session-bridge/shared";

/**
 * A new memory's text (trimmed) and session, checked the same way whatever
 * the backend: `invalid_request` naming the field. Whether the session is the
 * resource's is the store's to check.
 */
export function checkNewMemory(memory: NewMemory): { text: string; sessionId: string | null } {
  const text = memory.text.trim();
  if (text.length === 0) throw new InvalidRequestError("text must not be empty", { field: "text" });
  if (!isCleanText(text)) {
    throw new InvalidRequestError("text must not contain control characters or lone surrogates", { field: "text" });
  }
  if (text.length > maxMemoryLength) {
    throw new InvalidRequestError(`text must be at most ${maxMemoryLength} characters`, { field: "text" });
  }
  if (memory.scope === "session") {
    if (!memory.sessionId)
      throw new InvalidRequestError("sessionId is required for session memories", { field: "sessionId" });
    return { text, sessionId: memory.sessionId };
  }
  if (memory.sessionId) {
    throw new InvalidRequestError("user memories apply to every session; leave sessionId out", { field: "sessionId" });
  }
  return { text, sessionId: null };
}
