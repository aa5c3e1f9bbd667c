import type { RecallWindow, StoredMessage } from "@session-bridge/core";

/** Oldest first; messages saved in the same millisecond by key. */
export const byTime = (a: StoredMessage, b: StoredMessage) =>
  a.createdAt.getTime() - b.createdAt.getTime() || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/**
 * A {@link RecallWindow} from the rows a backend read: the session's newest
 * visible messages (in any order) and the hits' neighbourhoods (with repeats and
 * running answers), as every backend returns them.
 */
export function windowOf(newest: StoredMessage[], neighbourhoods: StoredMessage[], exclude: string[]): RecallWindow {
  const last = [...newest].sort(byTime);
  const left = new Set([...exclude, ...last.map((stored) => stored.key)]);
  const around = new Map<string, StoredMessage>();
  for (const stored of neighbourhoods) {
    if (!stored.running && !left.has(stored.key)) around.set(stored.key, stored);
  }
  return { last, around: [...around.values()].sort(byTime) };
}
