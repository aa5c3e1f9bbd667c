import type { RecallExclusions } from "@session-bridge/core";
import { runningPredicate } from "../../memory/message-codec.ts";

/** Mastra's message table (created by its PostgresStore). */
export const messagesTable = "mastra_messages";

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
    sql += ` AND ${column} NOT IN (SELECT id FROM ${messagesTable} WHERE thread_id = ${arg(newestOf.sessionId)} AND "resourceId" = ${resource} AND id <> ALL(${excluded}) AND NOT ${runningPredicate.postgres()} ORDER BY "createdAt" DESC, id DESC LIMIT ${arg(newestOf.last)})`;
  }
  return sql;
}
