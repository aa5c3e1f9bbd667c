import { sql } from "drizzle-orm";
import type { ListSessions } from "../session-listing.ts";
import { pageOf, pageRequest } from "../session-page.ts";
import type { PgDatabase } from "./client.ts";
import { messageCountsTable } from "./message-store.ts";
import { sessions } from "./schema.ts";
import { sessionColumns, sessionPageFilter, sessionPageOrder } from "./session-store.ts";

/**
 * {@link ListSessions} when the memory lives in the app's PostgreSQL database
 * (the default there): a page and its sessions' message counts (kept per
 * session by the memory's triggers) in one statement, one round trip. A count
 * below 0 shows as 0, as the counts read apart do.
 *
 * @example
 * const listSessions = postgresSessionListing(db);
 * const page = await listSessions("user-1", { limit: 50 });
 */
export function postgresSessionListing(db: PgDatabase): ListSessions {
  const messageCount =
    sql<number>`coalesce((SELECT greatest(counts.visible, 0) FROM ${sql.identifier(messageCountsTable)} AS counts WHERE counts.thread_id = ${sessions}.${sql.identifier(sessions.id.name)}), 0)`.mapWith(
      Number,
    );
  return async (resourceId, options) => {
    const { limit, after } = pageRequest(options);
    const rows = await db
      .select({ ...sessionColumns, messageCount })
      .from(sessions)
      .where(sessionPageFilter(resourceId, after))
      .orderBy(...sessionPageOrder)
      .limit(limit + 1);
    return pageOf(rows, limit);
  };
}
