/**
 * Message ids as stored: `<sessionId>/<message id>`. Clients choose their user
 * message ids, and Mastra's storage upserts by id across all threads, so an id
 * one user chose must never reach (or reveal) another user's message. Scoping
 * every stored id by its session makes that impossible by construction.
 */
export function toStoredId(sessionId: string, messageId: string): string {
  return `${sessionId}/${messageId}`;
}

/** The id the client knows: everything after the session prefix. */
export function fromStoredId(storedId: string): string {
  const slash = storedId.indexOf("/");
  return slash === -1 ? storedId : storedId.slice(slash + 1);
}
