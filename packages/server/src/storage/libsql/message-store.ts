import type { Client, InStatement, Row } from "@libsql/client";
import type { MessageStore, PendingMessage, StoredMessage } from "@session-bridge/core";
import { decodeMessage, encodeContent, runningPredicate } from "../../memory/message-codec.ts";
import { fromStoredId, toStoredId } from "../../memory/stored-ids.ts";
import { windowOf } from "../recall-window.ts";
import { pendingTable } from "./vector-store.ts";

// Mastra's tables (created by its LibSQLStore): the bridge reads and writes their
// rows itself, so that a message is stored exactly and in one transaction.
const messagesTable = "mastra_messages";
const threadsTable = "mastra_threads";
const columns = `id, thread_id, "resourceId", role, content, "createdAt"`;

/**
 * The {@link MessageStore} on libSQL, over Mastra's `mastra_messages` table and
 * the bridge's pending-vector table in the same database.
 *
 * @example
 * const store = createLibsqlMessageStore(client);
 * const last = await store.list(sessionId, resourceId, { last: 10 });
 */
export function createLibsqlMessageStore(client: Client): MessageStore {
  const select = async (sql: string, args: (string | number)[]) =>
    (await client.execute({ sql, args })).rows.map(toStoredMessage);
  const visible = (messages: StoredMessage[]) => messages.filter((stored) => !stored.running);

  /** Each keyed message of the resource with up to `range` messages before and after it in its own session. */
  async function neighbourhoods(resourceId: string, keys: string[], range: number): Promise<StoredMessage[]> {
    if (keys.length === 0) return [];
    const targets = (
      await client.execute({
        sql: `SELECT id, thread_id, "createdAt" FROM ${messagesTable} WHERE id IN (${placeholders(keys)}) AND "resourceId" = ?`,
        args: [...keys, resourceId],
      })
    ).rows;
    if (targets.length === 0) return [];
    const parts: string[] = [];
    const args: (string | number)[] = [];
    for (const target of targets) {
      const at = [String(target.createdAt), String(target.id)];
      parts.push(
        `SELECT * FROM (SELECT ${columns} FROM ${messagesTable} WHERE thread_id = ? AND "resourceId" = ? AND ("createdAt", id) <= (?, ?) ORDER BY "createdAt" DESC, id DESC LIMIT ?)`,
        `SELECT * FROM (SELECT ${columns} FROM ${messagesTable} WHERE thread_id = ? AND "resourceId" = ? AND ("createdAt", id) > (?, ?) ORDER BY "createdAt", id LIMIT ?)`,
      );
      args.push(
        String(target.thread_id),
        resourceId,
        ...at,
        range + 1,
        String(target.thread_id),
        resourceId,
        ...at,
        range,
      );
    }
    return select(parts.join(" UNION ALL "), args);
  }

  return {
    // Mastra's thread row, kept for Mastra's own readers of the same database.
    async createThread(thread) {
      await client.execute({
        sql: `INSERT INTO ${threadsTable} (id, "resourceId", title, metadata, "createdAt", "updatedAt") VALUES (?, ?, ?, '{}', ?, ?) ON CONFLICT (id) DO NOTHING`,
        args: [
          thread.id,
          thread.resourceId,
          thread.title,
          thread.createdAt.toISOString(),
          thread.createdAt.toISOString(),
        ],
      });
    },

    async save(messages, { pending, now }) {
      const [first] = messages;
      if (!first) return;
      const statements: InStatement[] = [];
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
      await client.batch(statements, "write");
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

    async getByKeys(keys) {
      if (keys.length === 0) return [];
      return select(`SELECT ${columns} FROM ${messagesTable} WHERE id IN (${placeholders(keys)})`, keys);
    },

    async recallWindow({ sessionId, resourceId, last, exclude, hits, range }) {
      const notExcluded = exclude.length === 0 ? "" : `AND id NOT IN (${placeholders(exclude)})`;
      const newest = await select(
        `SELECT ${columns} FROM ${messagesTable} WHERE thread_id = ? AND "resourceId" = ? ${notExcluded} AND NOT ${runningPredicate.libsql} ORDER BY "createdAt" DESC, id DESC LIMIT ?`,
        [sessionId, resourceId, ...exclude, last],
      );
      const left = new Set([...exclude, ...newest.map((stored) => stored.key)]);
      const wanted = hits.filter((key) => !left.has(key));
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
      const result = await client.execute({
        sql: `SELECT thread_id, count(*) AS count FROM ${messagesTable} WHERE thread_id IN (${placeholders(sessionIds)}) AND NOT ${runningPredicate.libsql} GROUP BY thread_id`,
        args: sessionIds,
      });
      return new Map(result.rows.map((row) => [String(row.thread_id), Number(row.count)]));
    },

    async delete(sessionId, messageIds) {
      if (messageIds.length === 0) return;
      const keys = messageIds.map((id) => toStoredId(sessionId, id));
      await client.batch(
        [
          { sql: `DELETE FROM ${messagesTable} WHERE id IN (${placeholders(keys)})`, args: keys },
          { sql: `DELETE FROM ${pendingTable} WHERE message_id IN (${placeholders(keys)})`, args: keys },
        ],
        "write",
      );
    },

    async deleteSession(sessionId) {
      await client.batch(
        [
          { sql: `DELETE FROM ${messagesTable} WHERE thread_id = ?`, args: [sessionId] },
          { sql: `DELETE FROM ${pendingTable} WHERE thread_id = ?`, args: [sessionId] },
          { sql: `DELETE FROM ${threadsTable} WHERE id = ?`, args: [sessionId] },
        ],
        "write",
      );
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
      await client.batch(
        rows.map((row) => ({
          sql: `DELETE FROM ${pendingTable} WHERE message_id = ? AND created_at = ?`,
          args: [row.key, row.savedAt],
        })),
        "write",
      );
    },
  };
}

function toStoredMessage(row: Row): StoredMessage {
  const key = String(row.id);
  const { message, running } = decodeMessage({
    id: fromStoredId(key),
    role: String(row.role),
    content: String(row.content),
  });
  return {
    key,
    sessionId: String(row.thread_id),
    resourceId: String(row.resourceId),
    createdAt: new Date(String(row.createdAt)),
    message,
    ...(running ? { running } : {}),
  };
}

const placeholders = (values: unknown[]) => values.map(() => "?").join(", ");
