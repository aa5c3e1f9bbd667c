import type { RecallExclusions } from "@session-bridge/core";
import { runningPredicate } from "../../memory/message-codec.ts";
import { messagesTable } from "../mastra-tables.ts";

/**
 * The recent history a turn shows: `columns` of the session's newest visible
 * messages outside the excluded keys, newest first. The other arguments are
 * the SQL of the session id, the resource id, the `text[]` of excluded keys
 * and the limit. `recallWindow` reads it; recall's exclusions leave it out of the hits.
 */
export function newestVisible(columns: string, session: string, resource: string, exclude: string, last: string) {
  return `SELECT ${columns} FROM ${messagesTable} WHERE thread_id = ${session} AND "resourceId" = ${resource} AND id <> ALL(${exclude}) AND NOT ${runningPredicate.postgres()} ORDER BY "createdAt" DESC, id DESC LIMIT ${last}`;
}

/**
 * `AND <column> NOT IN (…)` for recall's exclusions (see {@link RecallExclusions}),
 * where `column` holds message keys and `resource` is the SQL of the resource id;
 * `arg` adds a parameter and names it.
 */
export function excludedFromRecall(
  column: string,
  resource: string,
  exclusions: RecallExclusions | undefined,
  arg: (value: unknown) => string,
): string {
  const { exclude = [], newestOf } = exclusions ?? {};
  if (exclude.length === 0 && !newestOf) return "";
  const excluded = arg(exclude);
  let sql = ` AND ${column} <> ALL(${excluded})`;
  if (newestOf) {
    sql += ` AND ${column} NOT IN (${newestVisible("id", arg(newestOf.sessionId), resource, excluded, arg(newestOf.last))})`;
  }
  return sql;
}
