/** A conversation owned by one resource (a user, or `"local"` in single-user mode). */
export interface Session {
  id: string;
  resourceId: string;
  title: string | null;
  createdAt: Date;
  lastAccessed: Date;
}

export interface SessionPage {
  sessions: Session[];
  /** Opaque; pass back as `cursor` for the next page. `null` on the last page. */
  nextCursor: string | null;
}

export interface ListSessionsOptions {
  /** 1–100, default 20. */
  limit?: number;
  cursor?: string | null;
}

/** Something created together with a session (its memory thread). */
export type SessionCreationHook = (session: Session) => Promise<void>;

/**
 * Something else that hangs off a session (memory thread, trace, …) and must go
 * when the session goes. Runs before the session row is deleted, so a failure
 * leaves the session in place to be deleted again.
 */
export type SessionDeletionHook = (session: Session) => Promise<void>;

/**
 * Sessions, always seen through the resource that owns them: another
 * resource's session is indistinguishable from one that does not exist.
 */
export interface SessionStore {
  create(resourceId: string, options?: { title?: string | null }): Promise<Session>;
  get(resourceId: string, sessionId: string): Promise<Session | undefined>;
  /** Marks the session used now; false when it is not the resource's. */
  touch(resourceId: string, sessionId: string): Promise<boolean>;
  /** Most recently used first. */
  list(resourceId: string, options?: ListSessionsOptions): Promise<SessionPage>;
  rename(resourceId: string, sessionId: string, title: string | null): Promise<Session | undefined>;
  /** Deletes the session and everything hanging off it; false when it is not the resource's. */
  delete(resourceId: string, sessionId: string): Promise<boolean>;
}
