import type { RecallExclusions } from "@session-bridge/core";
import { runningPredicate } from "../../memory/message-codec.ts";
import { messagesTable } from "../mastra-tables.ts";
import { placeholders } from "./placeholders.ts";

/**
 * The recent history a turn shows: `columns` of the session's newest `last`
 * visible messages outside `exclude`, newest first (SQL with its arguments).
 * `recallWindow` reads it; recall's exclusions leave it out of the hits.
 */
export function newestVisible(
  columns: string,
  { sessionId, resourceId, exclude, last }: { sessionId: string; resourceId: string; exclude: string[]; last: number },
) {
  const notExcluded = exclude.length === 0 ? "" : ` AND id NOT IN (${placeholders(exclude)})`;
  return {
    sql: `SELECT ${columns} FROM ${messagesTable} WHERE thread_id = ? AND "resourceId" = ?${notExcluded} AND NOT ${runningPredicate.libsql()} ORDER BY "createdAt" DESC, id DESC LIMIT ?`,
    args: [sessionId, resourceId, ...exclude, last],
  };
}

/**
 * SQL with its arguments: `AND <column> NOT IN (…)` for recall's exclusions
 * (see {@link RecallExclusions}), where `column` holds message keys.
 */
export function excludedFromRecall(column: string, resourceId: string, exclusions: RecallExclusions | undefined) {
  const { exclude = [], newestOf } = exclusions ?? {};
  let sql = exclude.length === 0 ? "" : ` AND ${column} NOT IN (${placeholders(exclude)})`;
  const args: (string | number)[] = [...exclude];
  if (newestOf) {
    const newest = newestVisible("id", { sessionId: newestOf.sessionId, resourceId, exclude, last: newestOf.last });
    sql += ` AND ${column} NOT IN (${newest.sql})`;
    args.push(...newest.args);
  }
  return { sql, args };
}
