import type { Client } from "@libsql/client";
import { type MessageStore, type PendingMessage, type StoredMessage, termTokens } from "@session-bridge/core";
import { decodeMessage, encodeContent, runningPredicate, searchableTextLength } from "../../memory/message-codec.ts";
import { fromStoredId, toStoredId } from "../../memory/stored-ids.ts";
import { messagesTable, threadsTable } from "../mastra-tables.ts";
import { byTime, windowOf } from "../recall-window.ts";
import { placeholders } from "./placeholders.ts";
import type { SqlReader } from "./reader.ts";
import { excludedFromRecall, newestVisible } from "./recall-exclusions.ts";
import { createMessageVersionsTable, raiseAllMessageVersions } from "./resource-versions.ts";
import { clientSqlThread, type SqlStatement, type SqlThread } from "./sql-thread.ts";
import { haveTriggers } from "./triggers.ts";
import { pendingTable } from "./vector-store.ts";

/** The columns {@link toStoredMessage} reads, in its order. */
const columns = `id, thread_id, "resourceId", role, content, "createdAt"`;
/** SQL: true for a message a turn shows (not a running answer), given its `content` column. */
const visible = (content: string) => `NOT ${runningPredicate.libsql(content)}`;

/** How many of the matches written last a keyword search ranks. */
const keywordCandidates = 500;
/** Each session's visible messages (running answers not counted), kept by the triggers below. */
export const messageCountsTable = "session_bridge_message_counts";
const countTriggers = "session_bridge_message_counts_v1";

/**
 * Keeps the number of each session's visible messages in a table of its own,
 * so a page of sessions reads 50 counts instead of counting (and reading the
 * content of) every message. Triggers on Mastra's tables keep it exact within
 * every insert, update and delete; a database without them (from before them,
 * or whose triggers went missing) is counted afresh in the transaction that
 * creates them.
 */
export async function prepareMessageCounts(client: Client): Promise<void> {
  const countOne = (thread: string, content: string) =>
    `INSERT INTO ${messageCountsTable} (thread_id, visible) SELECT ${thread}, 1 WHERE ${visible(content)} ON CONFLICT (thread_id) DO UPDATE SET visible = visible + 1;`;
  const uncountOne = (thread: string, content: string) =>
    `UPDATE ${messageCountsTable} SET visible = visible - 1 WHERE thread_id = ${thread} AND ${visible(content)};`;
  await client.execute(
    `CREATE TABLE IF NOT EXISTS ${messageCountsTable} (thread_id TEXT PRIMARY KEY, visible INTEGER NOT NULL)`,
  );
  if (
    await haveTriggers(
      client,
      ["insert", "update", "delete", "thread"].map((name) => `${countTriggers}_${name}`),
    )
  ) {
    return;
  }
  // Counted afresh in the transaction that creates the triggers (two processes starting at
  // once each do it in turn, and the second finds the same counts).
  await client.batch(
    [
      `DELETE FROM ${messageCountsTable}`,
      `INSERT INTO ${messageCountsTable} (thread_id, visible)
         SELECT thread_id, count(*) FROM ${messagesTable} WHERE ${visible("content")} GROUP BY thread_id`,
      `CREATE TRIGGER IF NOT EXISTS ${countTriggers}_insert AFTER INSERT ON ${messagesTable} BEGIN ${countOne("NEW.thread_id", "NEW.content")} END`,
      `CREATE TRIGGER IF NOT EXISTS ${countTriggers}_update AFTER UPDATE OF content, thread_id ON ${messagesTable} BEGIN ${uncountOne("OLD.thread_id", "OLD.content")} ${countOne("NEW.thread_id", "NEW.content")} END`,
      `CREATE TRIGGER IF NOT EXISTS ${countTriggers}_delete AFTER DELETE ON ${messagesTable} BEGIN ${uncountOne("OLD.thread_id", "OLD.content")} END`,
      `CREATE TRIGGER IF NOT EXISTS ${countTriggers}_thread AFTER DELETE ON ${threadsTable} BEGIN DELETE FROM ${messageCountsTable} WHERE thread_id = OLD.id; END`,
      // Counts read before may differ now: no answer made from them stays cached.
      createMessageVersionsTable,
      raiseAllMessageVersions,
    ],
    "write",
  );
}

/** The text of each visible message (its text parts), for keyword search; kept by the triggers below. */
const textTable = "session_bridge_message_text";
/** SQLite FTS5 over {@link textTable} (an external-content index: the text is stored once). */
const ftsTable = "session_bridge_message_fts";
const textTriggers = "session_bridge_message_text_v1";

/**
 * Keeps every visible message's text (its text parts, joined) in a table of
 * its own with an FTS5 index over it, for the keyword channel of recall.
 * Triggers on Mastra's message table keep it within every write, whoever
 * writes: a running answer has no text until it ends; a message saved again
 * is indexed again; a deleted one leaves. A database without the triggers (from
 * before them, or whose triggers went missing) is indexed afresh in the
 * transaction that creates them.
 */
export async function prepareMessageSearch(client: Client): Promise<void> {
  // A content SQLite cannot parse (nested 1,000 deep) has no text here rather than failing its save.
  const textOf = (content: string) =>
    `(CASE WHEN json_valid(${content}) THEN substr((SELECT group_concat(json_extract(part.value, '$.text'), ' ') FROM json_each(${content}, '$.parts') AS part WHERE part.type = 'object' AND json_extract(part.value, '$.type') = 'text'), 1, ${searchableTextLength}) END)`;
  /** Indexes the visible messages of `source` (rows `m`). */
  const indexText = (source: string) =>
    `INSERT INTO ${textTable} (key, thread_id, resource_id, text)
       SELECT id, thread_id, resource_id, text FROM (
         SELECT m.id AS id, m.thread_id AS thread_id, m."resourceId" AS resource_id, ${textOf("m.content")} AS text
         FROM ${source} WHERE m."resourceId" IS NOT NULL AND ${visible("m.content")})
       WHERE coalesce(text, '') <> ''
       ON CONFLICT (key) DO UPDATE SET text = excluded.text, thread_id = excluded.thread_id, resource_id = excluded.resource_id`;
  const newRow = `(SELECT NEW.id AS id, NEW.thread_id AS thread_id, NEW."resourceId" AS "resourceId", NEW.content AS content) AS m`;
  const toFts = (row: "NEW" | "OLD", command = "") =>
    `INSERT INTO ${ftsTable} (${command ? `${ftsTable}, ` : ""}rowid, text, resource_id) VALUES (${command ? `'${command}', ` : ""}${row}.rowid, ${row}.text, ${row}.resource_id);`;
  await client.batch(
    [
      `CREATE TABLE IF NOT EXISTS ${textTable} (rowid INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, thread_id TEXT NOT NULL, resource_id TEXT NOT NULL, text TEXT NOT NULL)`,
      `CREATE INDEX IF NOT EXISTS ${textTable}_thread ON ${textTable} (thread_id)`,
      // The owner is indexed too, so a search matches one user's messages instead of everyone's, then filtering.
      `CREATE VIRTUAL TABLE IF NOT EXISTS ${ftsTable} USING fts5(text, resource_id, content = '${textTable}', content_rowid = 'rowid', tokenize = 'unicode61 remove_diacritics 2')`,
      `CREATE TRIGGER IF NOT EXISTS ${textTable}_insert AFTER INSERT ON ${textTable} BEGIN ${toFts("NEW")} END`,
      `CREATE TRIGGER IF NOT EXISTS ${textTable}_delete AFTER DELETE ON ${textTable} BEGIN ${toFts("OLD", "delete")} END`,
      `CREATE TRIGGER IF NOT EXISTS ${textTable}_update AFTER UPDATE ON ${textTable} BEGIN ${toFts("OLD", "delete")} ${toFts("NEW")} END`,
    ],
    "write",
  );
  if (
    await haveTriggers(
      client,
      ["insert", "update", "delete"].map((name) => `${textTriggers}_${name}`),
    )
  )
    return;
  // Indexed afresh in the transaction that creates the triggers (two processes starting at once
  // each do it in turn, and the second finds the same text).
  await client.batch(
    [
      `DELETE FROM ${textTable}`,
      indexText(`${messagesTable} AS m`),
      // The index rebuilt from the table it indexes, whatever state it was left in.
      `INSERT INTO ${ftsTable} (${ftsTable}) VALUES ('rebuild')`,
      `CREATE TRIGGER IF NOT EXISTS ${textTriggers}_insert AFTER INSERT ON ${messagesTable} BEGIN ${indexText(newRow)}; END`,
      `CREATE TRIGGER IF NOT EXISTS ${textTriggers}_update AFTER UPDATE OF content, thread_id, "resourceId" ON ${messagesTable} BEGIN DELETE FROM ${textTable} WHERE key = OLD.id; ${indexText(newRow)}; END`,
      `CREATE TRIGGER IF NOT EXISTS ${textTriggers}_delete AFTER DELETE ON ${messagesTable} BEGIN DELETE FROM ${textTable} WHERE key = OLD.id; END`,
    ],
    "write",
  );
}

/**
 * The {@link MessageStore} on libSQL, over Mastra's `mastra_messages` table and
 * the bridge's pending-vector table in the same database. Saves,
 * the keyword search and every write run on `worker` (the client when not
 * given): off the serving thread, and writes in one line with the vector
 * writes, so the process does not wait on its own write lock.
 *
 * @example
 * const store = createLibsqlMessageStore(client, reader, database.openThread());
 * const last = await store.list(sessionId, resourceId, { last: 10 });
 */
export function createLibsqlMessageStore(
  client: Client,
  reader: SqlReader,
  worker: SqlThread = clientSqlThread(client),
): MessageStore {
  const select = async (sql: string, args: (string | number)[]) => (await reader.all(sql, args)).map(toStoredMessage);
  const visible = (messages: StoredMessage[]) => messages.filter((stored) => !stored.running);

  /**
   * Each keyed message of the resource with up to `range` messages before and
   * after it in its own session, in one read: each key's place (its session and
   * time) is looked up inside the statement.
   */
  async function neighbourhoods(resourceId: string, keys: string[], range: number): Promise<StoredMessage[]> {
    if (keys.length === 0) return [];
    const hit = (column: string) => `(SELECT ${column} FROM ${messagesTable} WHERE id = ? AND "resourceId" = ?)`;
    const inSession = `SELECT ${columns} FROM ${messagesTable} WHERE thread_id = ${hit("thread_id")} AND "resourceId" = ?`;
    const before = `SELECT * FROM (${inSession} AND ("createdAt", id) <= ${hit('"createdAt", id')} ORDER BY "createdAt" DESC, id DESC LIMIT ?)`;
    const after = `SELECT * FROM (${inSession} AND ("createdAt", id) > ${hit('"createdAt", id')} ORDER BY "createdAt", id LIMIT ?)`;
    const parts = keys.flatMap(() => [before, after]);
    const args = keys.flatMap((key) => [
      ...[key, resourceId, resourceId, key, resourceId, range + 1],
      ...[key, resourceId, resourceId, key, resourceId, range],
    ]);
    return select(parts.join(" UNION ALL "), args);
  }

  return {
    // Mastra's thread row, kept for Mastra's own readers of the same database.
    async createThread(thread) {
      await worker.write([
        {
          sql: `INSERT INTO ${threadsTable} (id, "resourceId", title, metadata, "createdAt", "updatedAt") VALUES (?, ?, ?, '{}', ?, ?) ON CONFLICT (id) DO NOTHING`,
          args: [
            thread.id,
            thread.resourceId,
            thread.title,
            thread.createdAt.toISOString(),
            thread.createdAt.toISOString(),
          ],
        },
      ]);
    },

    async save(messages, { pending, now }) {
      const [first] = messages;
      if (!first) return;
      const statements: SqlStatement[] = [];
      if (pending) {
        // A newer save of the same message (the next step, the final answer)
        // renews the row, so an indexer that read the older text keeps it pending.
        for (const stored of messages) {
          statements.push({
            sql: `INSERT INTO ${pendingTable} (message_id, thread_id, resource_id, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (message_id) DO UPDATE SET created_at = max(excluded.created_at, created_at + 1)`,
            args: [stored.key, stored.sessionId, stored.resourceId, now.getTime()],
          });
        }
      }
      for (const stored of messages) {
        statements.push({
          // A message saved again keeps its place in time; a key never moves to another session or resource.
          sql: `INSERT INTO ${messagesTable} (id, thread_id, content, role, type, "createdAt", "resourceId") VALUES (?, ?, ?, ?, 'v2', ?, ?) ON CONFLICT (id) DO UPDATE SET content = excluded.content, role = excluded.role WHERE thread_id = excluded.thread_id AND "resourceId" = excluded."resourceId"`,
          args: [
            stored.key,
            stored.sessionId,
            encodeContent(stored.message, stored.running),
            stored.message.role,
            stored.createdAt.toISOString(),
            stored.resourceId,
          ],
        });
      }
      statements.push({
        sql: `UPDATE ${threadsTable} SET "updatedAt" = ? WHERE id = ?`,
        args: [now.toISOString(), first.sessionId],
      });
      await worker.write(statements);
    },

    async list(sessionId, resourceId, options = {}) {
      const where = `thread_id = ? AND "resourceId" = ?`;
      if (options.last === undefined) {
        const all = await select(`SELECT ${columns} FROM ${messagesTable} WHERE ${where} ORDER BY "createdAt", id`, [
          sessionId,
          resourceId,
        ]);
        return options.includeRunning ? all : visible(all);
      }
      // One turn runs per session, so a couple of rows more cover its running answer.
      const newest = await select(
        `SELECT ${columns} FROM ${messagesTable} WHERE ${where} ORDER BY "createdAt" DESC, id DESC LIMIT ?`,
        [sessionId, resourceId, options.last + 2],
      );
      return (options.includeRunning ? newest : visible(newest)).slice(0, options.last).reverse();
    },

    async findWithNext(sessionId, resourceId, messageId) {
      const rows = await select(
        `SELECT ${columns} FROM ${messagesTable} WHERE thread_id = ?1 AND "resourceId" = ?2 AND ("createdAt", id) >= (SELECT "createdAt", id FROM ${messagesTable} WHERE id = ?3 AND thread_id = ?1) ORDER BY "createdAt", id LIMIT 2`,
        [sessionId, resourceId, toStoredId(sessionId, messageId)],
      );
      const [message, next] = rows;
      return message?.message.id === messageId ? { message, next } : undefined;
    },

    async findWithNextAndLast(sessionId, resourceId, messageId) {
      // The message and the one after it, then the newest three (one turn runs per session, so
      // two more rows cover its running answer); the first column tells which part a row is.
      const where = `thread_id = ?1 AND "resourceId" = ?2`;
      const rows = await reader.all(
        `SELECT 'found', * FROM (SELECT ${columns} FROM ${messagesTable} WHERE ${where} AND ("createdAt", id) >= (SELECT "createdAt", id FROM ${messagesTable} WHERE id = ?3 AND thread_id = ?1) ORDER BY "createdAt", id LIMIT 2)
         UNION ALL SELECT 'last', * FROM (SELECT ${columns} FROM ${messagesTable} WHERE ${where} ORDER BY "createdAt" DESC, id DESC LIMIT 3)`,
        [sessionId, resourceId, toStoredId(sessionId, messageId)],
      );
      const part = (name: string) =>
        rows.filter(([which]) => which === name).map((row) => toStoredMessage(row.slice(1)));
      // Each part in its own order, whatever order a compound statement gives its rows in.
      const [message, next] = part("found").sort(byTime);
      return {
        found: message?.message.id === messageId ? { message, next } : undefined,
        last: visible(part("last").sort(byTime).reverse())[0],
      };
    },

    async getByKeys(keys) {
      if (keys.length === 0) return [];
      return select(`SELECT ${columns} FROM ${messagesTable} WHERE id IN (${placeholders(keys)})`, keys);
    },

    async recallWindow({ sessionId, resourceId, last, exclude, hits, range }) {
      // The newest are read at once, while the caller may still be finding its hits.
      const recent = newestVisible(columns, { sessionId, resourceId, exclude, last });
      const [newest, found] = await Promise.all([select(recent.sql, recent.args), hits]);
      const left = new Set([...exclude, ...newest.map((stored) => stored.key)]);
      const wanted = found.filter((key) => !left.has(key));
      return windowOf(newest, await neighbourhoods(resourceId, wanted, range), exclude);
    },

    async scan({ after, limit }) {
      return after
        ? select(
            `SELECT ${columns} FROM ${messagesTable} WHERE ("createdAt", id) > (?, ?) ORDER BY "createdAt", id LIMIT ?`,
            [after.createdAt.toISOString(), after.key, limit],
          )
        : select(`SELECT ${columns} FROM ${messagesTable} ORDER BY "createdAt", id LIMIT ?`, [limit]);
    },

    async countAll(upTo) {
      const result = await client.execute(
        upTo
          ? {
              sql: `SELECT count(*) AS total FROM ${messagesTable} WHERE ("createdAt", id) <= (?, ?)`,
              args: [upTo.createdAt.toISOString(), upTo.key],
            }
          : `SELECT count(*) AS total FROM ${messagesTable}`,
      );
      return Number(result.rows[0]?.total ?? 0);
    },

    async count(sessionIds) {
      if (sessionIds.length === 0) return new Map();
      // One statement whatever the number of ids, answered as one value: the counts in the ids'
      // order, joined by commas (cheaper than a row, or an object key, per session).
      const [[joined] = []] = await reader.all(
        `SELECT group_concat(coalesce(counted.visible, 0), ',' ORDER BY wanted.key) FROM json_each(?) AS wanted LEFT JOIN ${messageCountsTable} AS counted ON counted.thread_id = wanted.value`,
        [JSON.stringify(sessionIds)],
      );
      const counts = String(joined ?? "").split(",");
      const found = new Map<string, number>();
      sessionIds.forEach((sessionId, index) => {
        const visible = Number(counts[index] ?? 0);
        if (visible > 0) found.set(sessionId, visible);
      });
      return found;
    },

    async searchText({ resourceId, terms, topK, sessionId, ...exclusions }) {
      // Each term a phrase of its tokens (FTS5's tokenizer splits `ERR_CONN_RESET` the same way); any may match.
      const phrases = terms
        .map((term) => termTokens(term))
        .filter((tokens) => tokens.length > 0)
        .map((tokens) => `"${tokens.join(" ")}"`);
      const owner = termTokens(resourceId);
      if (phrases.length === 0 || owner.length === 0) return [];
      const match = `resource_id : "${owner.join(" ")}" AND text : (${phrases.join(" OR ")})`;
      const excluded = excludedFromRecall("t.key", resourceId, exclusions);
      // Ranked among the 500 matches written last that pass the filters (FTS5 reads matches
      // in that order and stops there; in session scope it may read more of the user's): a
      // term thousands of the user's messages hold is no keyword, and ranking them all took
      // ~50 ms at 50,000. bm25 still counts every row holding each phrase (the owner's too),
      // so the cost grows with the user's messages: ~6 ms at 100,000 for a common term.
      const rows = await worker.all(
        `SELECT key, thread_id FROM (
           SELECT t.key AS key, t.thread_id AS thread_id, bm25(${ftsTable}) AS score
           FROM ${ftsTable} JOIN ${textTable} AS t ON t.rowid = ${ftsTable}.rowid
           WHERE ${ftsTable} MATCH ? AND t.resource_id = ?${sessionId === undefined ? "" : " AND t.thread_id = ?"}${excluded.sql}
           ORDER BY ${ftsTable}.rowid DESC LIMIT ${keywordCandidates})
         ORDER BY score, key LIMIT ?`,
        [match, resourceId, ...(sessionId === undefined ? [] : [sessionId]), ...excluded.args, topK],
      );
      return rows.map(([key, threadId]) => ({ key: String(key), sessionId: String(threadId) }));
    },

    async delete(sessionId, messageIds) {
      if (messageIds.length === 0) return;
      const keys = messageIds.map((id) => toStoredId(sessionId, id));
      await worker.write([
        { sql: `DELETE FROM ${messagesTable} WHERE id IN (${placeholders(keys)})`, args: keys },
        { sql: `DELETE FROM ${pendingTable} WHERE message_id IN (${placeholders(keys)})`, args: keys },
      ]);
    },

    async deleteSession(sessionId) {
      await worker.write([
        { sql: `DELETE FROM ${messagesTable} WHERE thread_id = ?`, args: [sessionId] },
        { sql: `DELETE FROM ${pendingTable} WHERE thread_id = ?`, args: [sessionId] },
        { sql: `DELETE FROM ${threadsTable} WHERE id = ?`, args: [sessionId] },
      ]);
    },

    async listPending({ after, limit, resourceId }) {
      const result = await client.execute({
        sql: `SELECT message_id, created_at FROM ${pendingTable} WHERE (created_at, message_id) > (?, ?) ${resourceId === undefined ? "" : "AND resource_id = ?"} ORDER BY created_at, message_id LIMIT ?`,
        args: [after?.savedAt ?? -1, after?.key ?? "", ...(resourceId === undefined ? [] : [resourceId]), limit],
      });
      return result.rows.map((row) => ({ key: String(row.message_id), savedAt: Number(row.created_at) }));
    },

    async countPending(resourceId) {
      const result = await client.execute({
        sql: `SELECT count(*) AS total FROM ${pendingTable} ${resourceId === undefined ? "" : "WHERE resource_id = ?"}`,
        args: resourceId === undefined ? [] : [resourceId],
      });
      return Number(result.rows[0]?.total ?? 0);
    },

    async clearPending(rows: PendingMessage[]) {
      if (rows.length === 0) return;
      await worker.write(
        rows.map((row) => ({
          sql: `DELETE FROM ${pendingTable} WHERE message_id = ? AND created_at = ?`,
          args: [row.key, row.savedAt],
        })),
      );
    },
  };
}

/** A row of {@link columns}, in their order. */
function toStoredMessage([id, threadId, resourceId, role, content, createdAt]: unknown[]): StoredMessage {
  const key = String(id);
  const { message, running } = decodeMessage({ id: fromStoredId(key), role: String(role), content: String(content) });
  return {
    key,
    sessionId: String(threadId),
    resourceId: String(resourceId),
    createdAt: new Date(String(createdAt)),
    message,
    ...(running ? { running } : {}),
  };
}
