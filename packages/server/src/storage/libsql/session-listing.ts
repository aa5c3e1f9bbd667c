import type { ListSessions, SessionsVersion } from "../session-listing.ts";
import { pageOf } from "../session-page.ts";
import type { DatabaseHandle } from "./client.ts";
import { messageCountsTable } from "./message-store.ts";
import { openFileReader, type SqlReader } from "./reader.ts";
import { readResourceVersion } from "./resource-versions.ts";
import { sessionOf, sessionPages } from "./session-store.ts";

/**
 * {@link ListSessions} when the app's and the memory's databases are both
 * embedded files: a query-only connection to the app's file with the memory's
 * attached, so a page and its sessions' message counts (kept per session by
 * the memory's triggers) come back from one statement, as one JSON value. In
 * WAL mode each file is read at its last commit. The connection opens with the
 * first page asked for (commands that list nothing never open it).
 *
 * `version` reads a resource's version counters in both files, and whether
 * their triggers all exist, in one statement (resource-versions.ts), for the
 * sessions API's answer cache.
 *
 * @example
 * const listing = openLibsqlSessionListing(appDatabase, "./data/memory.db");
 * const page = await listing.list("user-1", { limit: 50 });
 */
export function openLibsqlSessionListing(
  app: Pick<DatabaseHandle, "db" | "file" | "busyTimeoutMs">,
  memoryFile: string,
): { list: ListSessions; version: SessionsVersion; close(): void } {
  const file = app.file;
  if (!file) throw new Error("the app database is not an embedded file");
  let opened: { reader: SqlReader; pages: ReturnType<typeof sessionPages> } | undefined;
  let closed = false;
  const open = () => {
    const reader = openFileReader(file, app.busyTimeoutMs, { memory: memoryFile });
    // A count below 0 (triggers another tool's writes skipped) shows as 0, as the counts read apart do.
    const pages = sessionPages(app.db, reader, {
      columns: ["max(coalesce(counts.visible, 0), 0)"],
      join: `LEFT JOIN memory.${messageCountsTable} AS counts ON counts.thread_id = rows."id"`,
    });
    return { reader, pages };
  };
  const reading = () => {
    if (closed) throw new Error("the session listing is closed");
    opened ??= open();
    return opened;
  };
  return {
    version: readResourceVersion(() => reading().reader),
    async list(resourceId, options) {
      const { pages } = reading();
      const { rows, limit } = await pages(resourceId, options);
      return pageOf(
        rows.map((row) => Object.assign(sessionOf(row), { messageCount: Number(row.at(-1) ?? 0) })),
        limit,
      );
    },
    close() {
      closed = true;
      opened?.reader.close();
    },
  };
}
