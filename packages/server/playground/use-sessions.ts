import { useCallback, useRef, useState } from "react";
import { ApiError, type PlaygroundApi, type SessionSummary } from "./api.ts";

/**
 * The sidebar's list of sessions. Only the answer to the latest list request is
 * shown, and deleted sessions stay hidden, so a list fetched before a quick
 * delete can never bring the deleted session back.
 */
export function useSessions(api: PlaygroundApi) {
  const [sessions, setSessions] = useState<SessionSummary[]>([]);
  const latestRequest = useRef(0);
  const deleted = useRef(new Set<string>());

  const refresh = useCallback(async () => {
    const request = ++latestRequest.current;
    const listed = await api.listSessions();
    if (request !== latestRequest.current) return;
    setSessions(listed.filter((session) => !deleted.current.has(session.id)));
  }, [api]);

  const rename = useCallback(
    async (id: string, title: string) => {
      const renamed = await api.renameSession(id, title);
      setSessions((current) => current.map((session) => (session.id === id ? renamed : session)));
    },
    [api],
  );

  const remove = useCallback(
    async (id: string) => {
      deleted.current.add(id);
      setSessions((current) => current.filter((session) => session.id !== id));
      try {
        await api.deleteSession(id);
      } catch (error) {
        // Already gone is what the user asked for.
        if (!(error instanceof ApiError && error.status === 404)) {
          deleted.current.delete(id);
          throw error;
        }
      } finally {
        await refresh();
      }
    },
    [api, refresh],
  );

  return { sessions, refresh, rename, remove };
}
