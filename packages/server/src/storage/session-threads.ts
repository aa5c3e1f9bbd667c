import type { ConversationMemory, SessionStore } from "@session-bridge/core";

/**
 * Sessions whose memory thread lives and dies with them. The thread is made
 * right after the session (a failure undoes the session) and deleted before
 * it (a failure leaves the session in place, to be deleted again), since the
 * memory may live in another database where no cascade reaches.
 *
 * @example
 * const sessions = withMemoryThreads(storage.sessions, memory);
 */
export function withMemoryThreads(store: SessionStore, memory: ConversationMemory): SessionStore {
  return {
    ...store,

    async create(resourceId, options) {
      const session = await store.create(resourceId, options);
      try {
        await memory.createThread(session);
      } catch (error) {
        await store.delete(resourceId, session.id).catch(() => undefined);
        throw error;
      }
      return session;
    },

    async delete(resourceId, sessionId) {
      const session = await store.get(resourceId, sessionId);
      if (!session) return false;
      await memory.deleteThread(session);
      return store.delete(resourceId, sessionId);
    },
  };
}
