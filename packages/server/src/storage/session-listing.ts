import type { ListSessionsOptions, MessageStore, Session, SessionStore } from "@session-bridge/core";

/** A session as the list shows it: with how many visible messages it holds. */
export interface ListedSession extends Session {
  messageCount: number;
}

export interface ListedSessionPage {
  sessions: ListedSession[];
  nextCursor: string | null;
}

/**
 * A page of a resource's sessions, most recently used first, each with its
 * message count (`GET /api/sessions`); `invalid_request` for a bad limit or
 * cursor. Sessions live in the app's database, counts in the memory's.
 */
export type ListSessions = (resourceId: string, options?: ListSessionsOptions) => Promise<ListedSessionPage>;

/**
 * A value that changes, in the same transaction, with anything the sessions
 * API shows of a resource (its sessions, their messages and counts), whichever
 * process writes it. Read before the data it guards, an answer built from that
 * data is current for as long as the value stays the same. Undefined while it
 * cannot be trusted: nothing may be answered from memory then.
 */
export type SessionsVersion = (resourceId: string) => Promise<string | undefined>;

/**
 * {@link ListSessions} wherever the two databases are: the page, then the
 * counts of its sessions (two statements). Two embedded libSQL files, or one
 * PostgreSQL database, are read in one (see `openLibsqlSessionListing`,
 * `postgresSessionListing`).
 */
export function listSessionsThenCounts(
  sessions: Pick<SessionStore, "list">,
  messages: Pick<MessageStore, "count">,
): ListSessions {
  return async (resourceId, options) => {
    const page = await sessions.list(resourceId, options);
    const counts = await messages.count(page.sessions.map((session) => session.id));
    return {
      sessions: page.sessions.map((session) => ({ ...session, messageCount: counts.get(session.id) ?? 0 })),
      nextCursor: page.nextCursor,
    };
  };
}
