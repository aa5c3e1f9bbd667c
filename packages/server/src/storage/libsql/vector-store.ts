import type { Client, Transaction } from "@libsql/client";
import type { VectorHit, VectorStore } from "@session-bridge/core";
import { vectorMetadata } from "../mastra-tables.ts";
import { placeholders } from "./placeholders.ts";
import { clientReader, type SqlReader } from "./reader.ts";
import { excludedFromRecall, newestVisible } from "./recall-exclusions.ts";
import { clientSqlThread, type SqlThread } from "./sql-thread.ts";
import {
  bestFirst,
  createRecallCache,
  createVectorVersionsTable,
  libsqlScoresReproduced,
  prepareVectorVersions,
  type RecallCache,
} from "./vector-cache.ts";

const metaTable = "session_bridge_vector_meta";
/** Messages saved but not yet embedded (written by the message store, in the same database). */
export const pendingTable = "session_bridge_pending_vectors";
/** Every message vector table starts so: Mastra's own thread deletion finds them too. */
const indexPrefix = "memory_messages";
/** Vectors written in one transaction: a save waits behind at most this many index inserts. */
const upsertBatch = 16;
/** Nearest vectors of all users the ANN index is asked for, at least, before the user's are picked. */
const annCandidates = 100;
/**
 * Up to this many vectors of the user (of the session, when one is asked for), an exact
 * search costs about what asking the index does (measured: ~4 µs a vector, against ~7 ms for
 * 100 DiskANN candidates) and never misses.
 */
const defaultExactUpTo = 2000;
/**
 * libSQL's DiskANN settings for the vector indexes made here (its defaults keep every
 * neighbour as a full vector and search a list of 200). Measured over 10,260 USE-lite
 * vectors of 512 dimensions (`bench/README.md`, memory), one bit per dimension for the
 * neighbours and a list of 400: an insert ~2 ms instead of ~14, a search of 100
 * candidates ~7 ms instead of ~20 (2026-12-01; ~8 against ~16 on 2026-12-02), the file
 * 127 MB instead of 1.16 GB, and at least as many of the exact top 4 among the
 * candidates (0.95 against 0.93; 0.94 against 0.94). A bit per dimension tells
 * vectors apart only when they have many; smaller embedders keep a byte per dimension.
 */
export function annSettings(dimension: number): string[] {
  return [`compress_neighbors=${dimension >= 256 ? "float1bit" : "float8"}`, "search_l=400"];
}

/** A vector table as Mastra's `LibSQLVector` makes it. */
export function vectorTable(indexName: string, dimension: number): string {
  return `CREATE TABLE IF NOT EXISTS ${indexName} (id SERIAL PRIMARY KEY, vector_id TEXT UNIQUE NOT NULL, embedding F32_BLOB(${dimension}), metadata TEXT DEFAULT '{}')`;
}

/** The ANN index of a vector table, with `settings` (libSQL's defaults when none). */
export function annIndex(indexName: string, settings: string[] = []): string {
  const options = settings.map((setting) => `, '${setting}'`).join("");
  return `CREATE INDEX IF NOT EXISTS ${indexName}_vector_idx ON ${indexName} (libsql_vector_idx(embedding${options}))`;
}

/**
 * The page cache (KiB) of a connection building an ANN index over vectors
 * already written; SQLite's default is 2 MiB. A build walks the whole index
 * again and again: over 30,000 random 512-dimension vectors it took 60 s with
 * 256 MiB (or 1 GiB) against 117 s with the default; over 100,000 (a 1.2 GB
 * file) 2 GiB was no faster than this (measured alone with the native driver,
 * not recorded; `npm run bench -- memory` seeds through this path). Pages are
 * taken only as the build reads them, and given back when it ends.
 */
const buildCacheKiB = 1_048_576;

/**
 * Builds the ANN index of a table in `transaction`, with the page cache raised
 * for the build and set back after it. When the build fails in a way that
 * ends the transaction (an I/O error, out of memory), the cache cannot be set
 * back on it: the build's error is the one thrown, and the connection keeps
 * the larger cache (only as many pages as the build read).
 */
async function createAnnIndex(transaction: Transaction, indexName: string, settings: string[]): Promise<void> {
  const [before] = (await transaction.execute("PRAGMA cache_size")).rows;
  await transaction.execute(`PRAGMA cache_size = -${buildCacheKiB}`);
  let built = false;
  try {
    await transaction.execute(annIndex(indexName, settings));
    built = true;
  } finally {
    const restore = transaction.execute(`PRAGMA cache_size = ${Number(before?.[0] ?? -2000)}`);
    await (built ? restore : restore.catch(() => undefined));
  }
}

/**
 * Builds a missing ANN index over the vectors of `indexName` in one write
 * transaction, as `rebuild: "end"` does (the benchmarks build Mastra's table's
 * index this way after writing its vectors in bulk).
 *
 * @example
 * await buildAnnIndex(client, "memory_messages_512", annSettings(512));
 */
export async function buildAnnIndex(client: Client, indexName: string, settings: string[]): Promise<void> {
  const transaction = await client.transaction("write");
  try {
    await createAnnIndex(transaction, indexName, settings);
    await transaction.commit();
  } finally {
    transaction.close();
  }
}

/**
 * The {@link VectorStore} on libSQL: vector tables as Mastra's `LibSQLVector`
 * makes them (libSQL's vector columns and DiskANN index), with metadata in
 * Mastra's keys (`message_id`, `thread_id`, `resource_id`) so Mastra's own
 * recall reads them too; plain SQL for writing and searching vectors, for
 * deleting by message or session (through indexes on those metadata keys) and
 * for the bridge's records. Searches (a DiskANN search costs milliseconds of
 * CPU) and the writes of vectors run on `worker`, off the serving thread;
 * with `cacheBytes`, a user with at most `exactUpTo` vectors is read once and
 * searched in memory on the calling thread while none of them changed
 * (vector-cache.ts).
 *
 * @example
 * const vectors = await openLibsqlVectorStore({ client, worker: database.openThread() });
 * await vectors.ensureIndex({ embedderId: "local:use-lite", dimension: 512, indexName });
 */
export async function openLibsqlVectorStore(options: {
  /** The memory database's client, for the bridge's own statements. */
  client: Client;
  /** Where searches and vector writes run (the client itself when not given); the caller closes it. */
  worker?: SqlThread;
  /** How many vectors of the user a search reads exactly before asking the index (tests set 0). */
  exactUpTo?: number;
  /**
   * Bytes of users' vectors held in memory for searches (users with at most
   * `exactUpTo` vectors; see vector-cache.ts); 0 or none: every search is a
   * statement.
   */
  cacheBytes?: number;
  /** Reads the cache's counters on the calling thread (the client's when not given). */
  reader?: SqlReader;
}): Promise<VectorStore> {
  const { client } = options;
  const worker = options.worker ?? clientSqlThread(client);
  const exactUpTo = options.exactUpTo ?? defaultExactUpTo;
  const reader = options.reader ?? clientReader(client);
  const cache =
    options.cacheBytes && exactUpTo > 0 && (await libsqlScoresReproduced(reader))
      ? createRecallCache({ reader, worker, maxBytes: options.cacheBytes, upTo: exactUpTo })
      : undefined;
  /** The dimension of each index searched, from its table's definition. */
  const dimensions = new Map<string, number>();
  await client.batch(
    [
      `CREATE TABLE IF NOT EXISTS ${metaTable} (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
      // Written before the message itself, so work a crash interrupted is found and finished on the next start.
      `CREATE TABLE IF NOT EXISTS ${pendingTable} (message_id TEXT PRIMARY KEY, thread_id TEXT NOT NULL, resource_id TEXT NOT NULL, created_at INTEGER NOT NULL)`,
      `CREATE INDEX IF NOT EXISTS ${pendingTable}_thread ON ${pendingTable} (thread_id)`,
      createVectorVersionsTable,
    ],
    "write",
  );
  // The tables Mastra's `LibSQLVector.listIndexes` lists (those with a vector column), of messages.
  const indexes = async () =>
    (await client.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE '%F32_BLOB%'")).rows
      .map((row) => String(row.name))
      .filter((name) => name.startsWith(indexPrefix));
  const deleteWhere = async (key: "thread_id" | "message_id", values: string[]) => {
    if (values.length === 0) return;
    try {
      await worker.write(
        (await indexes()).map((name) => ({
          sql: `DELETE FROM ${name} WHERE json_extract(metadata, '$."${key}"') IN (${placeholders(values)})`,
          args: values,
        })),
      );
    } finally {
      cache?.deleted();
    }
  };
  /**
   * The resource's vectors held in memory, when the cache holds (or can read)
   * them. The cache is a help: when it fails, the statements search.
   */
  const heldFor = async (indexName: string, resourceId: string) =>
    cache ? findHeld(cache, indexName, resourceId).catch(() => undefined) : undefined;
  const findHeld = async (cache: RecallCache, indexName: string, resourceId: string) => {
    let dimension = dimensions.get(indexName);
    if (dimension === undefined) {
      const [row] = (
        await client.execute({
          sql: "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
          args: [indexName],
        })
      ).rows;
      dimension = Number(/F32_BLOB\((\d+)\)/.exec(String(row?.sql ?? ""))?.[1] ?? 0);
      if (dimension === 0) return undefined;
      dimensions.set(indexName, dimension);
    }
    return cache.current(indexName, dimension, resourceId);
  };

  return {
    async ensureIndex(info, { rebuild } = {}) {
      const { indexName, dimension } = info;
      dimensions.set(indexName, dimension);
      const annName = `${indexName}_vector_idx`;
      const wanted = annSettings(dimension);
      // Mastra's table, with the ANN index made here: Mastra's own would take libSQL's default
      // settings.
      await client.batch(
        [
          vectorTable(indexName, dimension),
          // Deleting a session's or a message's vectors is then a lookup, not a scan; so is
          // finding the vectors a query scores (one user's, or one session's).
          `CREATE INDEX IF NOT EXISTS ${indexName}_resource ON ${indexName} (json_extract(metadata, '$."resource_id"'), json_extract(metadata, '$."thread_id"'))`,
          `CREATE INDEX IF NOT EXISTS ${indexName}_thread ON ${indexName} (json_extract(metadata, '$."thread_id"'))`,
          `CREATE INDEX IF NOT EXISTS ${indexName}_message ON ${indexName} (json_extract(metadata, '$."message_id"'))`,
        ],
        "write",
      );
      // Counted for any process's cache, whether this one keeps one or not.
      await prepareVectorVersions(client, indexName);
      // Read and changed in one write transaction: two processes starting at once take turns.
      const transaction = await client.transaction("write");
      try {
        const [row] = (
          await transaction.execute({
            sql: "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?",
            args: [annName],
          })
        ).rows;
        const definition = typeof row?.sql === "string" ? row.sql : undefined;
        const current = definition !== undefined && wanted.every((setting) => definition.includes(`'${setting}'`));
        const holdsVectors = (await transaction.execute(`SELECT 1 FROM ${indexName} LIMIT 1`)).rows.length > 0;
        // With vectors and no reindex running, an index with other settings (or none, left out by a
        // reindex that did not finish) stays as it is until `session-bridge reindex`.
        const outdated = !current && holdsVectors && rebuild === undefined;
        if (!current && !outdated) {
          // An index made meanwhile by an older server goes too. `begin`: left out while the
          // reindex writes every vector again (cheaper); built at its `end`, holding the write
          // lock meanwhile.
          await transaction.execute(`DROP INDEX IF EXISTS ${annName}`);
          if (rebuild !== "begin" || !holdsVectors) await createAnnIndex(transaction, indexName, wanted);
        }
        await transaction.commit();
        return { outdated };
      } finally {
        transaction.close();
      }
    },

    listIndexes: indexes,

    async dropIndex(indexName) {
      try {
        await worker.write([{ sql: `DROP TABLE IF EXISTS ${indexName}`, args: [] }]);
      } finally {
        cache?.dropped(indexName);
        dimensions.delete(indexName);
      }
    },

    async upsert(indexName, vectors) {
      // As a vector's JSON text was (its `null`s refused by libSQL): a blob would take them.
      if (vectors.some((entry) => !entry.vector.every(Number.isFinite))) {
        throw new TypeError("a vector to write holds a value that is not a finite number");
      }
      // Mastra's upsert (a message written again replaces its vectors), a few vectors a
      // transaction: each insert updates the DiskANN index (~3 ms), and a save waits behind.
      try {
        for (let start = 0; start < vectors.length; start += upsertBatch) {
          await worker.write(
            vectors.slice(start, start + upsertBatch).map((entry) => ({
              sql: `INSERT INTO ${indexName} (vector_id, embedding, metadata) VALUES (?, vector32(?), ?)
              ON CONFLICT (vector_id) DO UPDATE SET embedding = excluded.embedding, metadata = excluded.metadata`,
              args: [entry.id, vectorBlob(entry.vector), JSON.stringify(vectorMetadata(entry))],
            })),
          );
        }
      } catch (error) {
        // Some batches may have been written: those users' vectors are read again.
        cache?.forget(indexName, new Set(vectors.map((vector) => vector.resourceId)));
        throw error;
      }
      // The vectors held of these users take what was written (the next turn's search needs no read).
      await cache?.written(indexName, vectors);
    },

    async query(indexName, queryVector, { topK, resourceId, sessionId, exclusions }) {
      const held = await heldFor(indexName, resourceId);
      // A query of another length: the statement says what is wrong.
      if (held && queryVector.length === held.dimension) {
        const excluded = new Set(exclusions?.exclude);
        if (exclusions?.newestOf) {
          const { sessionId: newestOf, last } = exclusions.newestOf;
          const newest = newestVisible("id", { sessionId: newestOf, resourceId, exclude: [...excluded], last });
          for (const [key] of await reader.all(newest.sql, newest.args)) excluded.add(String(key));
        }
        return held.nearest(queryVector, { topK, excluded, ...(sessionId === undefined ? {} : { sessionId }) });
      }
      // Mastra's query asks the DiskANN index for a few times topK nearest vectors of all
      // users, filters after, and counts a message's chunks as separate hits. Here: an exact
      // search for a user with few vectors; else a wider candidate set, one hit per message
      // (its best chunk), and an exact search of the user's own vectors whenever the
      // candidates hold fewer than topK of their messages.
      const vector = vectorBlob(queryVector);
      const owned = `json_extract(t.metadata, '$."resource_id"') = ?${sessionId === undefined ? "" : ` AND json_extract(t.metadata, '$."thread_id"') = ?`}`;
      const ownedBy = [resourceId, ...(sessionId === undefined ? [] : [sessionId])];
      const excluded = excludedFromRecall(`json_extract(t.metadata, '$."message_id"')`, resourceId, exclusions);
      // A row without a message key is no hit: left out before the limit, as the held vectors leave it.
      const mine = `${owned} AND typeof(json_extract(t.metadata, '$."message_id"')) = 'text'${excluded.sql}`;
      const filter = [...ownedBy, ...excluded.args];
      const scored = `json_extract(t.metadata, '$."message_id"') AS key, json_extract(t.metadata, '$."thread_id"') AS session_id,
        1 - vector_distance_cos(t.embedding, vector32(?)) AS score`;
      const best = (from: string) =>
        `SELECT key, session_id, max(score) AS score FROM (${from}) GROUP BY key ORDER BY score DESC, key LIMIT ?`;
      const approximate = best(
        `SELECT ${scored} FROM vector_top_k('${indexName}_vector_idx', vector32(?), ?) AS v JOIN ${indexName} AS t ON t.rowid = v.id WHERE ${mine}`,
      );
      const exact = best(`SELECT ${scored} FROM ${indexName} AS t WHERE ${mine}`);
      // A NULL score (a zero vector) reads as 0, ranked last by the statement.
      const hitsOf = (rows: unknown[][]) =>
        rows.flatMap(([key, session, score]) =>
          typeof key === "string"
            ? [{ key, sessionId: String(session), resourceId, score: score === null ? Number.NaN : Number(score) }]
            : [],
        );
      const reported = (hits: VectorHit[]) => hits.map((hit) => (Number.isNaN(hit.score) ? { ...hit, score: 0 } : hit));
      const searchExactly = async () => reported(hitsOf(await worker.all(exact, [vector, ...filter, topK])));
      // One round trip to the read thread for a user with few vectors: the first row (no key)
      // holds how many the user has, up to one past the limit (counted once, through the
      // index); the exact hits follow, and their rows are read only when that is within it.
      const exactWhenFew = best(
        `SELECT ${scored} FROM counted CROSS JOIN ${indexName} AS t WHERE counted.mine <= ${exactUpTo} AND ${mine}`,
      );
      const rows = await worker.all(
        `WITH counted AS MATERIALIZED (SELECT count(*) AS mine FROM (SELECT 1 FROM ${indexName} AS t WHERE ${owned} LIMIT ${exactUpTo + 1}))
        SELECT NULL, NULL, mine FROM counted UNION ALL SELECT * FROM (${exactWhenFew})`,
        [...ownedBy, vector, ...filter, topK],
      );
      const mineCount = rows.find(([key]) => key === null)?.[2];
      // Best first: a compound statement's rows come in no promised order.
      if (Number(mineCount ?? 0) <= exactUpTo) return reported(hitsOf(rows).sort(bestFirst));
      const candidates = Math.max(annCandidates, topK * 25);
      const found = await worker
        .all(approximate, [vector, vector, candidates, ...filter, topK])
        .then((rows) => reported(hitsOf(rows)))
        // No ANN index (a table made by another tool, a server without it): search exactly.
        // Any other error is a real one.
        .catch((error: unknown) => {
          if (/vector index|vector_top_k|_vector_idx|no such (function|index)/i.test(String(error))) return [];
          throw error;
        });
      return found.length >= topK ? found : searchExactly();
    },

    async similarity(indexName, queryVector, keys, resourceId) {
      if (keys.length === 0) return new Map();
      const held = await heldFor(indexName, resourceId);
      if (held && queryVector.length === held.dimension) return held.similarity(queryVector, keys);
      const rows = await worker.all(
        `SELECT json_extract(t.metadata, '$."message_id"') AS key, max(1 - vector_distance_cos(t.embedding, vector32(?))) AS score
          FROM ${indexName} AS t
          WHERE json_extract(t.metadata, '$."message_id"') IN (${placeholders(keys)}) AND json_extract(t.metadata, '$."resource_id"') = ?
          GROUP BY key`,
        [vectorBlob(queryVector), ...keys, resourceId],
      );
      return new Map(rows.map(([key, score]) => [String(key), Number(score)]));
    },

    deleteForMessages: (keys) => deleteWhere("message_id", keys),
    deleteForSessions: (sessionIds) => deleteWhere("thread_id", sessionIds),

    async readMeta(key) {
      const result = await client.execute({ sql: `SELECT value FROM ${metaTable} WHERE key = ?`, args: [key] });
      const value = result.rows[0]?.value;
      return typeof value === "string" ? JSON.parse(value) : undefined;
    },

    async writeMeta(key, value) {
      await client.execute({
        sql: `INSERT INTO ${metaTable} (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
        args: [key, JSON.stringify(value)],
      });
    },

    async deleteMeta(key) {
      await client.execute({ sql: `DELETE FROM ${metaTable} WHERE key = ?`, args: [key] });
    },

    // Its connections belong to the caller.
    async close() {},
  };
}

/** A query vector as libSQL's float32 blob: cheaper to pass and to read than its JSON text. */
function vectorBlob(vector: number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(vector).buffer);
}
