import { PgVector } from "@mastra/pg";
import type { VectorStore } from "@session-bridge/core";
import type pg from "pg";
import { vectorMetadata } from "../mastra-tables.ts";
import { excludedFromRecall } from "./recall-exclusions.ts";

const metaTable = "session_bridge_vector_meta";
/** Messages saved but not yet embedded (written by the message store, in the same database). */
export const pendingTable = "session_bridge_pending_vectors";
/** Every message vector table starts so: Mastra's own thread deletion finds them too. */
const indexPrefix = "memory_messages";
/** Mastra's namespace of vectors written without one. */
const defaultNamespace = "default";
/** Vectors per INSERT (three parameters each, far below PostgreSQL's 65,535). */
const upsertRows = 500;

/**
 * The bridge's own tables beside Mastra's: created once, under the schema
 * lock, by whichever process migrates (see `preparePostgresMemory`).
 */
export async function createBridgeTables(pool: pg.Pool): Promise<void> {
  await pool.query(`
    CREATE TABLE IF NOT EXISTS ${metaTable} (key text PRIMARY KEY, value text NOT NULL);
    CREATE TABLE IF NOT EXISTS ${pendingTable} (message_id text PRIMARY KEY, thread_id text NOT NULL, resource_id text NOT NULL, created_at bigint NOT NULL);
    CREATE INDEX IF NOT EXISTS ${pendingTable}_thread ON ${pendingTable} (thread_id);
    CREATE INDEX IF NOT EXISTS ${pendingTable}_resource ON ${pendingTable} (resource_id, created_at);
  `);
}

/**
 * The {@link VectorStore} on PostgreSQL with pgvector: Mastra's `PgVector` (an
 * HNSW cosine index per table) for the vectors, with metadata in Mastra's keys
 * (`message_id`, `thread_id`, `resource_id`); plain SQL on the app's pool for
 * writing, searching and deleting vectors (through expression indexes on those
 * keys) and for the bridge's records. `PgVector` creates, lists and drops the
 * tables on a pool of its own: `max` bounds it.
 */
export function openPostgresVectorStore(options: { pool: pg.Pool; url: string; max: number }): VectorStore {
  const { pool } = options;
  const vector = new PgVector({
    id: "session-bridge-vectors",
    connectionString: options.url,
    pgPoolOptions: { max: options.max },
  });
  // pgvector's type and operator, qualified by the schema it is installed in (`public`
  // by default; Supabase installs it in `extensions`): looked up once per process.
  let pgvector: Promise<{ type: string; cosine: string }> | undefined;
  const pgvectorNames = () => {
    pgvector ??= pool
      .query<{ schema: string }>(
        "SELECT n.nspname AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'vector'",
      )
      .then((result) => {
        const found = result.rows[0]?.schema;
        if (found === undefined) throw new Error("the pgvector extension is not installed in this database");
        const schema = `"${found.replaceAll('"', '""')}"`;
        return { type: `${schema}.vector`, cosine: `OPERATOR(${schema}.<=>)` };
      });
    // Not cached when it failed: the extension may be installed by the next ensureIndex.
    pgvector.catch(() => {
      pgvector = undefined;
    });
    return pgvector;
  };
  const indexes = async () => (await vector.listIndexes()).filter((name) => name.startsWith(indexPrefix));
  const deleteWhere = async (key: "thread_id" | "message_id", values: string[]) => {
    if (values.length === 0) return;
    for (const name of await indexes()) {
      await pool.query(`DELETE FROM ${name} WHERE metadata ->> '${key}' = ANY($1)`, [values]);
    }
  };

  return {
    async ensureIndex(info) {
      await vector.createIndex({
        indexName: info.indexName,
        dimension: info.dimension,
        metric: "cosine",
        indexConfig: { type: "hnsw" },
      });
      // Deleting a session's or a message's vectors is then a lookup, not a scan; so is
      // finding the vectors a query scores (one user's, or one session's).
      await pool.query(`
        CREATE INDEX IF NOT EXISTS ${info.indexName}_thread ON ${info.indexName} ((metadata ->> 'thread_id'));
        CREATE INDEX IF NOT EXISTS ${info.indexName}_message ON ${info.indexName} ((metadata ->> 'message_id'));
        CREATE INDEX IF NOT EXISTS ${info.indexName}_resource ON ${info.indexName} ((metadata ->> 'resource_id'), (metadata ->> 'thread_id'));
      `);
      // Where the extension is, now that createIndex has made sure it exists: at start-up, not in a turn.
      await pgvectorNames();
      return { outdated: false };
    },

    listIndexes: indexes,

    async dropIndex(indexName) {
      await vector.deleteIndex({ indexName });
    },

    async upsert(indexName, vectors) {
      // One statement per 500 vectors through the app's pool, where Mastra's upsert takes
      // a transaction of its own on its own pool (and times out connecting under load).
      // A vector id given twice keeps its last vector: one statement cannot update a row twice.
      const { type } = await pgvectorNames();
      const latest = [...new Map(vectors.map((entry) => [entry.id, entry])).values()];
      for (let start = 0; start < latest.length; start += upsertRows) {
        const rows = latest.slice(start, start + upsertRows);
        const values = rows.flatMap((entry) => [
          entry.id,
          `[${entry.vector.join(",")}]`,
          JSON.stringify(vectorMetadata(entry)),
        ]);
        const tuples = rows.map(
          (_, row) => `($${row * 3 + 1}, $${row * 3 + 2}::${type}, $${row * 3 + 3}::jsonb, '${defaultNamespace}')`,
        );
        await pool.query(
          `INSERT INTO ${indexName} (vector_id, embedding, metadata, namespace) VALUES ${tuples.join(", ")}
           ON CONFLICT (namespace, vector_id) DO UPDATE SET embedding = excluded.embedding, metadata = excluded.metadata`,
          values,
        );
      }
    },

    async query(indexName, queryVector, { topK, resourceId, sessionId, exclusions }) {
      // One statement, where Mastra's filtered query takes five (a transaction setting
      // HNSW options it cannot use with a filter). Exact: the user's vectors, found by
      // the resource index, scored one by one (the HNSW index answers only unfiltered
      // nearest-neighbour queries; a filter after it can leave fewer than topK).
      const { type, cosine } = await pgvectorNames();
      const args: unknown[] = [`[${queryVector.join(",")}]`, resourceId, topK];
      const arg = (value: unknown) => `$${args.push(value)}`;
      const scoped = sessionId === undefined ? "" : ` AND metadata ->> 'thread_id' = ${arg(sessionId)}`;
      const excluded = excludedFromRecall("metadata ->> 'message_id'", "$2", exclusions, arg);
      // One hit per message: its best chunk (a long message has a vector per chunk).
      const result = await pool.query<{ key: string; session_id: string; score: number }>(
        `SELECT key, session_id, score FROM (
           SELECT DISTINCT ON (key) metadata ->> 'message_id' AS key, metadata ->> 'thread_id' AS session_id,
             1 - (embedding ${cosine} $1::${type}) AS score
           FROM ${indexName}
           WHERE namespace = '${defaultNamespace}' AND metadata ->> 'resource_id' = $2${scoped}${excluded}
           ORDER BY key, score DESC
         ) best
         ORDER BY score DESC LIMIT $3`,
        args,
      );
      return result.rows.flatMap((row) =>
        typeof row.key === "string"
          ? [{ key: row.key, sessionId: row.session_id, resourceId, score: Number(row.score) }]
          : [],
      );
    },

    async similarity(indexName, queryVector, keys, resourceId) {
      if (keys.length === 0) return new Map();
      const { type, cosine } = await pgvectorNames();
      const result = await pool.query<{ key: string; score: number }>(
        `SELECT metadata ->> 'message_id' AS key, max(1 - (embedding ${cosine} $1::${type})) AS score
         FROM ${indexName}
         WHERE namespace = '${defaultNamespace}' AND metadata ->> 'message_id' = ANY($2) AND metadata ->> 'resource_id' = $3
         GROUP BY 1`,
        [`[${queryVector.join(",")}]`, keys, resourceId],
      );
      return new Map(result.rows.map((row) => [row.key, Number(row.score)]));
    },

    deleteForMessages: (keys) => deleteWhere("message_id", keys),
    deleteForSessions: (sessionIds) => deleteWhere("thread_id", sessionIds),

    async readMeta(key) {
      const result = await pool.query<{ value: string }>(`SELECT value FROM ${metaTable} WHERE key = $1`, [key]);
      const value = result.rows[0]?.value;
      return typeof value === "string" ? JSON.parse(value) : undefined;
    },

    async writeMeta(key, value) {
      await pool.query(
        `INSERT INTO ${metaTable} (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
        [key, JSON.stringify(value)],
      );
    },

    async deleteMeta(key) {
      await pool.query(`DELETE FROM ${metaTable} WHERE key = $1`, [key]);
    },

    close: () => vector.disconnect(),
  };
}
