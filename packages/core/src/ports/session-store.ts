/** A conversation owned by one resource (a user, or `"local"` in single-user mode). */
export interface Session {
  id: string;
  resourceId: string;
  title: string | null;
  createdAt: Date;
  lastAccessed: Date;
}

/** A session's turn lease, taken. */
export interface LeaseGrant {
  /** The session, as it is now (just marked used). */
  session: Session;
  /**
   * True when another holder's lease had expired and was taken over: that
   * holder's turns may still be logged as running and need recovering. False
   * when the lease had been released, so no earlier turn can be left running.
   */
  tookOver: boolean;
}

/** A new session's turn lease, taken as it is created. */
export interface NewLease {
  leaseId: string;
  ttlMs: number;
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

/** Sessions per page at most, and by default. */
export const sessionPageSize = { max: 100, default: 20 } as const;

/**
 * Sessions, always seen through the resource that owns them: another
 * resource's session is indistinguishable from one that does not exist.
 * Deleting a session deletes everything of it in the same database (tool
 * sessions, session memories, turns and their chunk logs, traces): the
 * database cascades, one rule for every table.
 */
export interface SessionStore {
  /** A new session, used now; with `lease`, its turn lease is taken in the same write. */
  create(resourceId: string, options?: { title?: string | null; lease?: NewLease }): Promise<Session>;
  get(resourceId: string, sessionId: string): Promise<Session | undefined>;
  /** Marks the session used now; false when it is not the resource's. */
  touch(resourceId: string, sessionId: string): Promise<boolean>;
  /** Most recently used first; `invalid_request` for a bad limit or cursor. */
  list(resourceId: string, options?: ListSessionsOptions): Promise<SessionPage>;
  /** The resource's sessions in order of creation, after `after`: a paging key that never moves (export). */
  listByCreation(resourceId: string, options: { after: Session | null; limit: number }): Promise<Session[]>;
  /** How many sessions the resource has. */
  count(resourceId: string): Promise<number>;
  rename(resourceId: string, sessionId: string, title: string | null): Promise<Session | undefined>;
  /** Deletes the session and, by cascade, everything of it in this database; false when it is not the resource's. */
  delete(resourceId: string, sessionId: string): Promise<boolean>;

  /** Sessions of any resource not used since `before`, oldest first. */
  findIdle(before: Date, limit: number): Promise<Session[]>;
  /** Sessions beyond the newest `keep` of their resource, least recently used first. */
  findBeyondLimit(keep: number, limit: number): Promise<Session[]>;

  /**
   * Takes the session's turn lease for `ttlMs` unless another live lease holds
   * it, and marks the session used: one conditional write, so two processes
   * can never both win. `undefined` when the session is not the resource's or
   * another lease holds it (`get` tells which).
   */
  acquireTurnLease(
    resourceId: string,
    sessionId: string,
    leaseId: string,
    ttlMs: number,
  ): Promise<LeaseGrant | undefined>;
  /** Extends a lease this holder still has; false when it was lost. */
  renewTurnLease(sessionId: string, leaseId: string, ttlMs: number): Promise<boolean>;
  releaseTurnLease(sessionId: string, leaseId: string): Promise<void>;

  /** Import: writes the session with its own id and times; false when that id exists already. */
  restore(session: Session): Promise<boolean>;
  /** Import's ownership check: the owner of each of these ids that exists, of any resource. */
  ownersOf(sessionIds: string[]): Promise<Map<string, string>>;
}
