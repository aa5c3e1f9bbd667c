import { type ListSessionsOptions, type Session, sessionPageSize } from "@session-bridge/core";
import { InvalidRequestError } from "@session-bridge/shared";

/** Where the next page of "most recently used first" starts: after this session. */
export interface SessionCursor {
  lastAccessed: number;
  id: string;
}

/**
 * The page size and cursor of a session list request, checked the same way
 * whatever the backend: `invalid_request` for a bad limit or a cursor this
 * server did not hand out.
 */
export function pageRequest(options: ListSessionsOptions = {}): { limit: number; after: SessionCursor | undefined } {
  const limit = options.limit ?? sessionPageSize.default;
  if (!Number.isInteger(limit) || limit < 1 || limit > sessionPageSize.max) {
    throw new InvalidRequestError(`limit must be a whole number from 1 to ${sessionPageSize.max}`, { field: "limit" });
  }
  return { limit, after: options.cursor ? decodeCursor(options.cursor) : undefined };
}

/** A page from `limit + 1` rows: the extra row says whether there is a next page. */
export function pageOf<T extends Session>(rows: T[], limit: number): { sessions: T[]; nextCursor: string | null } {
  const sessions = rows.slice(0, limit);
  const last = sessions.at(-1);
  return { sessions, nextCursor: rows.length > limit && last ? encodeCursor(last) : null };
}

function encodeCursor(session: Session): string {
  return Buffer.from(JSON.stringify([session.lastAccessed.getTime(), session.id])).toString("base64url");
}

function decodeCursor(cursor: string): SessionCursor {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (Array.isArray(value) && Number.isSafeInteger(value[0]) && typeof value[1] === "string") {
      return { lastAccessed: value[0], id: value[1] };
    }
  } catch {
    // fall through to the same error as a well-formed but wrong cursor
  }
  throw new InvalidRequestError("cursor is not one this server returned", { field: "cursor" });
}
