import { type MessageStore, type PendingMessage, type StoredMessage, termTokens } from "@session-bridge/core";
import type pg from "pg";
import { decodeMessage, encodeContent, runningPredicate, searchableTextLength } from "../../memory/message-codec.ts";
import { fromStoredId, toStoredId } from "../../memory/stored-ids.ts";
import { messagesTable, threadsTable } from "../mastra-tables.ts";
import { byTime, windowOf } from "../recall-window.ts";
import { excludedFromRecall, newestVisible } from "./recall-exclusions.ts";
import { pendingTable } from "./vector-store.ts";

// "createdAt" (UTC, without zone) orders, on Mastra's (thread_id, "createdAt") index; "createdAtZ" is read.
const columns = `id, thread_id, "resourceId", role, content, "createdAtZ"`;
/** SQL: true for a message a turn shows (not a running answer), given its `content` column. */
const visible = (content: string) => `NOT ${runningPredicate.postgres(content)}`;
/** Each session's visible messages (running answers not counted), kept by the trigger below. */
export const messageCountsTable = "session_bridge_message_counts";
const countTrigger = "session_bridge_message_counts_v1";

/**
 * Keeps the number of each session's visible messages in a table of its own
 * (see the libSQL store's `prepareMessageCounts`): one trigger function on
 * Mastra's message table, one on its thread table. A database without the
 * message trigger is counted afresh in the transaction that creates it, after
 * writers already running have finished. Call under the schema lock.
 */
export async function prepareMessageCounts(pool: pg.Pool): Promise<void> {
  // One query string of several statements runs as one transaction.
  await pool.query(`
    CREATE TABLE IF NOT EXISTS ${messageCountsTable} (thread_id text PRIMARY KEY, visible integer NOT NULL);
    CREATE OR REPLACE FUNCTION ${countTrigger}() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $fn$
    BEGIN
      IF TG_OP <> 'INSERT' AND ${visible("OLD.content")} THEN
        UPDATE ${messageCountsTable} SET visible = visible - 1 WHERE thread_id = OLD.thread_id;
      END IF;
      IF TG_OP <> 'DELETE' AND ${visible("NEW.content")} THEN
        INSERT INTO ${messageCountsTable} AS counts (thread_id, visible) VALUES (NEW.thread_id, 1)
          ON CONFLICT (thread_id) DO UPDATE SET visible = counts.visible + 1;
      END IF;
      RETURN NULL;
    END $fn$;
    CREATE OR REPLACE FUNCTION ${countTrigger}_thread() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $fn$
    BEGIN
      DELETE FROM ${messageCountsTable} WHERE thread_id = OLD.id;
      RETURN NULL;
    END $fn$;
    DO $do$
    BEGIN
      IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = '${countTrigger}' AND tgrelid = '${messagesTable}'::regclass) THEN
        -- Writers that began before the trigger existed finish first, so the count sees their rows.
        LOCK TABLE ${messagesTable} IN SHARE ROW EXCLUSIVE MODE;
        DELETE FROM ${messageCountsTable};
        INSERT INTO ${messageCountsTable} (thread_id, visible)
          SELECT thread_id, count(*) FROM ${messagesTable} WHERE ${visible("content")} GROUP BY thread_id;
        CREATE TRIGGER ${countTrigger} AFTER INSERT OR DELETE OR UPDATE OF content, thread_id ON ${messagesTable}
          FOR EACH ROW EXECUTE FUNCTION ${countTrigger}();
      END IF;
      IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = '${countTrigger}_thread' AND tgrelid = '${threadsTable}'::regclass) THEN
        CREATE TRIGGER ${countTrigger}_thread AFTER DELETE ON ${threadsTable}
          FOR EACH ROW EXECUTE FUNCTION ${countTrigger}_thread();
      END IF;
    END $do$;
  `);
}

/**
 * Parameter `n`, an ISO time, for a `timestamp` (without zone) column: Mastra
 * keeps UTC wall-clock time there, and one parameter cannot feed both kinds.
 */
const utc = (n: number) => `($${n}::timestamptz AT TIME ZONE 'UTC')`;

/** The text of each visible message (its text parts), for keyword search; kept by the trigger below. */
const textTable = "session_bridge_message_text";
/** Where the indexed text is split besides PostgreSQL's own separators: what FTS5 splits at and PostgreSQL may not. */
const splitCharacters =
  "_./\\:#@-+~<>\u201c\u201d\u2018\u2019\u00ab\u00bb\u2039\u203a\u201e\u201a\u2026\u00b7\u2022\u2010\u2011\u2013\u2014\u2212\u00a0\u2009\u202f\u3000\u3001\u3002\uff0c";
const textTrigger = "session_bridge_message_text_v1";

/**
 * Keeps every visible message's text in a table of its own with a `tsvector`
 * (the `simple` configuration: no stemming, no stop words) and a GIN index,
 * for the keyword channel of recall (see the libSQL store's
 * `prepareMessageSearch`). One trigger function on Mastra's message table; a
 * database without it is indexed afresh in the transaction that creates it,
 * after writers already running have finished. Call under the schema lock.
 */
export async function prepareMessageSearch(pool: pg.Pool): Promise<void> {
  await pool.query(`
    CREATE TABLE IF NOT EXISTS ${textTable} (
      key text PRIMARY KEY, thread_id text NOT NULL, resource_id text NOT NULL, text text NOT NULL,
      -- Split where libSQL's FTS5 splits (JIRA-4521, config.yaml, a@b.com, curly quotes, dashes): PostgreSQL's
      -- parser keeps URLs, paths, emails and dotted names whole, reads -4521 as a signed number, and on a
      -- database whose LC_CTYPE is C takes every non-ASCII character for a letter.
      words tsvector GENERATED ALWAYS AS (to_tsvector('simple', translate(text, '${splitCharacters}', '${" ".repeat([...splitCharacters].length)}'))) STORED);
    CREATE INDEX IF NOT EXISTS ${textTable}_words ON ${textTable} USING gin (words);
    CREATE INDEX IF NOT EXISTS ${textTable}_thread ON ${textTable} (thread_id);
    CREATE INDEX IF NOT EXISTS ${textTable}_resource ON ${textTable} (resource_id);
    -- A message's text parts, joined; NULL for content that is not JSON. jsonb refuses the
    -- escape of NUL, which a message may hold: such a text is read without it.
    CREATE OR REPLACE FUNCTION ${textTrigger}_of(content text) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $fn$
    BEGIN
      RETURN (SELECT left(string_agg(part ->> 'text', ' '), ${searchableTextLength}) FROM jsonb_array_elements(
        (CASE WHEN strpos(content, '\\u0000') = 0 THEN content
         ELSE regexp_replace(content, '(?<!\\\\)\\\\u0000', ' ', 'g') END)::jsonb -> 'parts') AS part
        WHERE part ->> 'type' = 'text');
    EXCEPTION WHEN others THEN
      RETURN NULL;
    END $fn$;
    CREATE OR REPLACE FUNCTION ${textTrigger}() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $fn$
    DECLARE extracted text;
    BEGIN
      IF TG_OP <> 'INSERT' THEN
        DELETE FROM ${textTable} WHERE key = OLD.id;
      END IF;
      IF TG_OP <> 'DELETE' AND NEW."resourceId" IS NOT NULL AND ${visible("NEW.content")} THEN
        extracted := ${textTrigger}_of(NEW.content);
        IF coalesce(extracted, '') <> '' THEN
          INSERT INTO ${textTable} (key, thread_id, resource_id, text) VALUES (NEW.id, NEW.thread_id, NEW."resourceId", extracted)
            ON CONFLICT (key) DO UPDATE SET text = excluded.text, thread_id = excluded.thread_id, resource_id = excluded.resource_id;
        END IF;
      END IF;
      RETURN NULL;
    END $fn$;
    DO $do$
    BEGIN
      IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = '${textTrigger}' AND tgrelid = '${messagesTable}'::regclass) THEN
        -- Writers that began before the trigger existed finish first, so the index sees their rows.
        LOCK TABLE ${messagesTable} IN SHARE ROW EXCLUSIVE MODE;
        DELETE FROM ${textTable};
        INSERT INTO ${textTable} (key, thread_id, resource_id, text)
          SELECT id, thread_id, "resourceId", text FROM (
            SELECT id, thread_id, "resourceId", ${textTrigger}_of(content) AS text FROM ${messagesTable}
            WHERE "resourceId" IS NOT NULL AND ${visible("content")}) AS visible
          WHERE coalesce(text, '') <> '';
        CREATE TRIGGER ${textTrigger} AFTER INSERT OR DELETE OR UPDATE OF content, thread_id, "resourceId" ON ${messagesTable}
          FOR EACH ROW EXECUTE FUNCTION ${textTrigger}();
      END IF;
    END $do$;
  `);
}

interface MessageRow {
  id: string;
  thread_id: string;
  resourceId: string;
  role: string;
  content: string;
  createdAtZ: Date;
}

/**
 * The {@link MessageStore} on PostgreSQL, over Mastra's `mastra_messages` table
 * and the bridge's pending-vector table in the same database. Every write is
 * one statement (data-modifying CTEs): one round trip, atomically.
 */
export function createPostgresMessageStore(pool: pg.Pool): MessageStore {
  const select = async (sql: string, args: unknown[]) =>
    (await pool.query<MessageRow>(sql, args)).rows.map(toStoredMessage);
  const visible = (messages: StoredMessage[]) => messages.filter((stored) => !stored.running);

  return {
    async createThread(thread) {
      const at = thread.createdAt.toISOString();
      await pool.query(
        `INSERT INTO ${threadsTable} (id, "resourceId", title, metadata, "createdAt", "createdAtZ", "updatedAt", "updatedAtZ") VALUES ($1, $2, $3, '{}', ${utc(4)}, $4::timestamptz, ${utc(4)}, $4::timestamptz) ON CONFLICT (id) DO NOTHING`,
        [thread.id, thread.resourceId, thread.title, at],
      );
    },

    async save(messages, { pending, now }) {
      const [first] = messages;
      if (!first) return;
      const args: unknown[] = [now.toISOString(), first.sessionId, pending ? now.getTime() : null];
      const values = messages.map((stored) => {
        const at = args.length + 1;
        args.push(
          stored.key,
          stored.sessionId,
          encodeContent(stored.message, stored.running),
          stored.message.role,
          stored.createdAt.toISOString(),
          stored.resourceId,
        );
        return `($${at}, $${at + 1}, $${at + 2}, $${at + 3}, 'v2', ${utc(at + 4)}, $${at + 4}::timestamptz, $${at + 5})`;
      });
      const pendingRows = messages.map((_, index) => {
        const at = 4 + index * 6;
        return `($${at}, $${at + 1}, $${at + 5}, $3::bigint)`;
      });
      await pool.query(
        `WITH ${
          pending
            ? // A newer save of the same message (the next step, the final answer)
              // renews the row, so an indexer that read the older text keeps it pending.
              `pending AS (INSERT INTO ${pendingTable} (message_id, thread_id, resource_id, created_at) VALUES ${pendingRows.join(", ")} ON CONFLICT (message_id) DO UPDATE SET created_at = greatest(excluded.created_at, ${pendingTable}.created_at + 1) RETURNING 1), `
            : ""
        }saved AS (
          INSERT INTO ${messagesTable} AS m (id, thread_id, content, role, type, "createdAt", "createdAtZ", "resourceId") VALUES ${values.join(", ")}
          ON CONFLICT (id) DO UPDATE SET content = excluded.content, role = excluded.role
          -- A message saved again keeps its place in time; a key never moves to another session or resource.
          WHERE m.thread_id = excluded.thread_id AND m."resourceId" = excluded."resourceId" RETURNING 1)
        UPDATE ${threadsTable} SET "updatedAt" = ${utc(1)}, "updatedAtZ" = $1::timestamptz WHERE id = $2 AND $3::bigint IS NOT DISTINCT FROM $3::bigint`,
        args,
      );
    },

    async list(sessionId, resourceId, options = {}) {
      const where = `thread_id = $1 AND "resourceId" = $2`;
      if (options.last === undefined) {
        const all = await select(`SELECT ${columns} FROM ${messagesTable} WHERE ${where} ORDER BY "createdAt", id`, [
          sessionId,
          resourceId,
        ]);
        return options.includeRunning ? all : visible(all);
      }
      // One turn runs per session, so a couple of rows more cover its running answer.
      const newest = await select(
        `SELECT ${columns} FROM ${messagesTable} WHERE ${where} ORDER BY "createdAt" DESC, id DESC LIMIT $3`,
        [sessionId, resourceId, options.last + 2],
      );
      return (options.includeRunning ? newest : visible(newest)).slice(0, options.last).reverse();
    },

    async findWithNext(sessionId, resourceId, messageId) {
      const rows = await select(
        `SELECT ${columns} FROM ${messagesTable} WHERE thread_id = $1 AND "resourceId" = $2 AND ("createdAt", id) >= (SELECT "createdAt", id FROM ${messagesTable} WHERE id = $3 AND thread_id = $1) ORDER BY "createdAt", id LIMIT 2`,
        [sessionId, resourceId, toStoredId(sessionId, messageId)],
      );
      const [message, next] = rows;
      return message?.message.id === messageId ? { message, next } : undefined;
    },

    async findWithNextAndLast(sessionId, resourceId, messageId) {
      // The message and the one after it, then the newest three (one turn runs per session, so
      // two more rows cover its running answer): one round trip.
      const where = `thread_id = $1 AND "resourceId" = $2`;
      const result = await pool.query<MessageRow & { part: "found" | "last" }>(
        `(SELECT 'found' AS part, ${columns} FROM ${messagesTable} WHERE ${where} AND ("createdAt", id) >= (SELECT "createdAt", id FROM ${messagesTable} WHERE id = $3 AND thread_id = $1) ORDER BY "createdAt", id LIMIT 2)
         UNION ALL (SELECT 'last' AS part, ${columns} FROM ${messagesTable} WHERE ${where} ORDER BY "createdAt" DESC, id DESC LIMIT 3)`,
        [sessionId, resourceId, toStoredId(sessionId, messageId)],
      );
      const part = (name: string) => result.rows.filter((row) => row.part === name).map(toStoredMessage);
      // Each part in its own order, whatever order a compound statement gives its rows in.
      const [message, next] = part("found").sort(byTime);
      return {
        found: message?.message.id === messageId ? { message, next } : undefined,
        last: visible(part("last").sort(byTime).reverse())[0],
      };
    },

    async getByKeys(keys) {
      if (keys.length === 0) return [];
      return select(`SELECT ${columns} FROM ${messagesTable} WHERE id = ANY($1)`, [keys]);
    },

    async recallWindow({ sessionId, resourceId, last, exclude, hits: hitsFound, range }) {
      // One round trip for all of it, once the hits are known (a connection's statements
      // run one after another, so the newest would not be read any sooner apart).
      const hits = await hitsFound;
      // One statement: the session's newest visible messages, then each hit that is not
      // among them, from its place in time in its own session: `range` before (and itself), `range` after.
      const result = await pool.query<MessageRow & { part: "last" | "around" }>(
        `WITH newest AS (${newestVisible(columns, "$1", "$2", "$3", "$4")}),
         hits AS (
           SELECT id, thread_id, "createdAt" FROM ${messagesTable}
           WHERE id = ANY($5) AND "resourceId" = $2 AND id <> ALL($3) AND id NOT IN (SELECT id FROM newest))
         SELECT 'last' AS part, newest.* FROM newest
         UNION ALL
         SELECT 'around' AS part, near.* FROM hits CROSS JOIN LATERAL (
           (SELECT ${columns} FROM ${messagesTable} m WHERE m.thread_id = hits.thread_id AND m."resourceId" = $2 AND (m."createdAt", m.id) <= (hits."createdAt", hits.id) ORDER BY m."createdAt" DESC, m.id DESC LIMIT $6)
           UNION ALL
           (SELECT ${columns} FROM ${messagesTable} m WHERE m.thread_id = hits.thread_id AND m."resourceId" = $2 AND (m."createdAt", m.id) > (hits."createdAt", hits.id) ORDER BY m."createdAt", m.id LIMIT $7)
         ) AS near`,
        [sessionId, resourceId, exclude, last, hits, range + 1, range],
      );
      const newest = result.rows.filter((row) => row.part === "last").map(toStoredMessage);
      const around = result.rows.filter((row) => row.part === "around").map(toStoredMessage);
      return windowOf(newest, around, exclude);
    },

    async scan({ after, limit }) {
      return after
        ? select(
            `SELECT ${columns} FROM ${messagesTable} WHERE ("createdAt", id) > ($1, $2) ORDER BY "createdAt", id LIMIT $3`,
            [after.createdAt.toISOString(), after.key, limit],
          )
        : select(`SELECT ${columns} FROM ${messagesTable} ORDER BY "createdAt", id LIMIT $1`, [limit]);
    },

    async countAll(upTo) {
      const result = upTo
        ? await pool.query(`SELECT count(*) AS total FROM ${messagesTable} WHERE ("createdAt", id) <= ($1, $2)`, [
            upTo.createdAt.toISOString(),
            upTo.key,
          ])
        : await pool.query(`SELECT count(*) AS total FROM ${messagesTable}`);
      return Number(result.rows[0]?.total ?? 0);
    },

    async count(sessionIds) {
      if (sessionIds.length === 0) return new Map();
      const result = await pool.query<{ thread_id: string; visible: number }>(
        `SELECT thread_id, visible FROM ${messageCountsTable} WHERE thread_id = ANY($1) AND visible > 0`,
        [sessionIds],
      );
      return new Map(result.rows.map((row) => [row.thread_id, row.visible]));
    },

    async searchText({ resourceId, terms, topK, sessionId, ...exclusions }) {
      // Each term a phrase of its tokens, split as the stored text was; any may match. Tokens are
      // letters and digits only, so they cannot be operators of the query syntax.
      const query = terms
        .map((term) => termTokens(term))
        .filter((tokens) => tokens.length > 0)
        .map((tokens) => `(${tokens.join(" <-> ")})`)
        .join(" | ");
      if (!query) return [];
      const args: unknown[] = [query, resourceId, topK];
      const arg = (value: unknown) => `$${args.push(value)}`;
      const scoped = sessionId === undefined ? "" : ` AND thread_id = ${arg(sessionId)}`;
      const excluded = excludedFromRecall("key", "$2", exclusions, arg);
      const result = await pool.query<{ key: string; thread_id: string }>(
        `SELECT key, thread_id FROM ${textTable}, to_tsquery('simple', $1) AS query
         WHERE words @@ query AND resource_id = $2${scoped}${excluded}
         ORDER BY ts_rank_cd(words, query) DESC, key LIMIT $3`,
        args,
      );
      return result.rows.map((row) => ({ key: row.key, sessionId: row.thread_id }));
    },

    async delete(sessionId, messageIds) {
      if (messageIds.length === 0) return;
      const keys = messageIds.map((id) => toStoredId(sessionId, id));
      await pool.query(
        `WITH gone AS (DELETE FROM ${pendingTable} WHERE message_id = ANY($1) RETURNING 1) DELETE FROM ${messagesTable} WHERE id = ANY($1)`,
        [keys],
      );
    },

    async deleteSession(sessionId) {
      await pool.query(
        `WITH pending AS (DELETE FROM ${pendingTable} WHERE thread_id = $1 RETURNING 1), messages AS (DELETE FROM ${messagesTable} WHERE thread_id = $1 RETURNING 1) DELETE FROM ${threadsTable} WHERE id = $1`,
        [sessionId],
      );
    },

    async listPending({ after, limit, resourceId }) {
      const result = await pool.query<{ message_id: string; created_at: string }>(
        `SELECT message_id, created_at FROM ${pendingTable} WHERE (created_at, message_id) > ($1, $2) ${resourceId === undefined ? "" : "AND resource_id = $4"} ORDER BY created_at, message_id LIMIT $3`,
        [after?.savedAt ?? -1, after?.key ?? "", limit, ...(resourceId === undefined ? [] : [resourceId])],
      );
      return result.rows.map((row) => ({ key: row.message_id, savedAt: Number(row.created_at) }));
    },

    async countPending(resourceId) {
      const result = await pool.query(
        `SELECT count(*) AS total FROM ${pendingTable} ${resourceId === undefined ? "" : "WHERE resource_id = $1"}`,
        resourceId === undefined ? [] : [resourceId],
      );
      return Number(result.rows[0]?.total ?? 0);
    },

    async clearPending(rows: PendingMessage[]) {
      if (rows.length === 0) return;
      // Only the versions that were read: a row renewed since stays pending.
      await pool.query(
        `DELETE FROM ${pendingTable} p USING unnest($1::text[], $2::bigint[]) AS read(message_id, created_at) WHERE p.message_id = read.message_id AND p.created_at = read.created_at`,
        [rows.map((row) => row.key), rows.map((row) => row.savedAt)],
      );
    },
  };
}

function toStoredMessage(row: MessageRow): StoredMessage {
  const { message, running } = decodeMessage({ id: fromStoredId(row.id), role: row.role, content: row.content });
  return {
    key: row.id,
    sessionId: row.thread_id,
    resourceId: row.resourceId,
    createdAt: new Date(row.createdAtZ),
    message,
    ...(running ? { running } : {}),
  };
}
