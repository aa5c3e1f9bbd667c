import type { ListSessions } from "../session-listing.ts";
import { pageOf } from "../session-page.ts";
import type { DatabaseHandle } from "./client.ts";
import { messageCountsTable } from "./message-store.ts";
import { openFileReader } from "./reader.ts";
import { sessionOf, sessionPages } from "./session-store.ts";

/**
 * {@link ListSessions} when the app's and the memory's databases are both
 * embedded files: a query-only connection to the app's file with the memory's
 * attached, so a page and its sessions' message counts (kept per session by
 * the memory's triggers) come back from one statement, as one JSON value. In
 * WAL mode each file is read at its last commit.
 *
 * @example
 * const listing = openLibsqlSessionListing(appDatabase, "./data/memory.db");
 * const page = await listing.list("user-1", { limit: 50 });
 */
export function openLibsqlSessionListing(
  app: Pick<DatabaseHandle, "db" | "file" | "busyTimeoutMs">,
  memoryFile: string,
): { list: ListSessions; close(): void } {
  if (!app.file) throw new Error("the app database is not an embedded file");
  const reader = openFileReader(app.file, app.busyTimeoutMs, { memory: memoryFile });
  const pages = sessionPages(app.db, reader, {
    columns: ["coalesce(counts.visible, 0)"],
    join: `LEFT JOIN memory.${messageCountsTable} AS counts ON counts.thread_id = rows."id"`,
  });
  return {
    async list(resourceId, options) {
      const { rows, limit } = await pages(resourceId, options);
      return pageOf(
        rows.map((row) => Object.assign(sessionOf(row), { messageCount: Number(row.at(-1) ?? 0) })),
        limit,
      );
    },
    close: () => reader.close(),
  };
}
