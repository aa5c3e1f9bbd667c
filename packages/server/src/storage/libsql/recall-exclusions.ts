import type { RecallExclusions } from "@session-bridge/core";
import { runningPredicate } from "../../memory/message-codec.ts";
import { messagesTable, placeholders } from "./mastra-tables.ts";

/**
 * SQL with its arguments: `AND <column> NOT IN (…)` for recall's exclusions
 * (see {@link RecallExclusions}), where `column` holds message keys.
 */
export function excludedFromRecall(column: string, resourceId: string, exclusions: RecallExclusions | undefined) {
  const { exclude = [], newestOf } = exclusions ?? {};
  const notExcluded = exclude.length === 0 ? "" : ` AND id NOT IN (${placeholders(exclude)})`;
  let sql = exclude.length === 0 ? "" : ` AND ${column} NOT IN (${placeholders(exclude)})`;
  const args: (string | number)[] = [...exclude];
  if (newestOf) {
    sql += ` AND ${column} NOT IN (SELECT id FROM ${messagesTable} WHERE thread_id = ? AND "resourceId" = ?${notExcluded} AND NOT ${runningPredicate.libsql()} ORDER BY "createdAt" DESC, id DESC LIMIT ?)`;
    args.push(newestOf.sessionId, resourceId, ...exclude, newestOf.last);
  }
  return { sql, args };
}
