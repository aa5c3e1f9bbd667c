import type { Client } from "@libsql/client";
import type { MessageVector, VectorHit } from "@session-bridge/core";
import type { SqlReader } from "./reader.ts";
import type { SqlThread } from "./sql-thread.ts";
import { haveTriggers, raiseCounters, raiseWholeCounter, wholeDatabase } from "./triggers.ts";

// A user's message vectors held in memory, searched without SQL (docs/storage.md,
// recall's vectors in memory). libSQL's exact search reads every vector row of the user through
// the page cache, which SQLite empties whenever another connection wrote to the file
// (every turn writes its user message): ~1.5 ms for ~300 vectors, before the turn
// can call its model. Held here, a search is a version check and a loop of dot products.
//
// The memory database keeps a counter per resource of its vector rows' changes, raised
// by triggers on every vector table in the same transaction as the change, and one for
// the whole database (the empty resource id), raised whenever the triggers are made again
// (writes made while they were missing were counted by no one). Vectors held are those
// of one snapshot, with the counters read in it: while the counters read now are the
// same, no vector of the resource changed since, in any process.

const versionsTable = "session_bridge_vector_versions";

/** The memory database's counters of vector changes. */
export const createVectorVersionsTable = `CREATE TABLE IF NOT EXISTS ${versionsTable} (resource_id TEXT PRIMARY KEY, version INTEGER NOT NULL)`;

const triggersOf = (indexName: string) =>
  ["insert", "update", "delete"].map((change) => `${versionsTable}_v1_${indexName}_${change}`);

const ownerOf = (row: "NEW" | "OLD") => `SELECT json_extract(${row}.metadata, '$."resource_id"') AS owner`;

/**
 * Makes the triggers of a vector table if any is missing (they go with the
 * table when it is dropped), raising the whole database's counter in the same
 * transaction. A row written raises its resource's counter by one (an update
 * moving a row to another resource raises both).
 */
export async function prepareVectorVersions(client: Client, indexName: string): Promise<void> {
  const triggers = triggersOf(indexName);
  if (await haveTriggers(client, triggers)) return;
  const [onInsert, onUpdate, onDelete] = triggers;
  await client.batch(
    [
      createVectorVersionsTable,
      `CREATE TRIGGER IF NOT EXISTS ${onInsert} AFTER INSERT ON ${indexName}
         BEGIN ${raiseCounters(versionsTable, ownerOf("NEW"))} END`,
      `CREATE TRIGGER IF NOT EXISTS ${onUpdate} AFTER UPDATE ON ${indexName}
         BEGIN ${raiseCounters(versionsTable, `${ownerOf("OLD")} UNION ${ownerOf("NEW")}`)} END`,
      `CREATE TRIGGER IF NOT EXISTS ${onDelete} AFTER DELETE ON ${indexName}
         BEGIN ${raiseCounters(versionsTable, ownerOf("OLD"))} END`,
      raiseWholeCounter(versionsTable),
    ],
    "write",
  );
}

/** The counters of a resource (`?1`) as columns: the whole database's, the resource's, and how many triggers exist. */
const versionColumns = (indexName: string) =>
  [
    `(SELECT version FROM ${versionsTable} WHERE resource_id = ${wholeDatabase})`,
    `(SELECT version FROM ${versionsTable} WHERE resource_id = ?1)`,
    `(SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name IN (${triggersOf(indexName)
      .map((name) => `'${name}'`)
      .join(", ")}))`,
  ].join(", ");

/** A resource's counters as read: the whole database's and its own (an absent row reads as 0). */
interface Version {
  whole: number;
  mine: number;
}

const sameVersion = (version: Version | undefined, other: Version) =>
  version !== undefined && version.whole === other.whole && version.mine === other.mine;

/** Whether counters were read at `other`'s or later (a resource's counter only rises). */
const notOlder = (version: Version, other: Version) => version.whole === other.whole && version.mine >= other.mine;

/** The counters of a row of {@link versionColumns}; undefined while a trigger is missing (a change may go uncounted). */
function versionOf([whole, mine, triggers]: unknown[]): Version | undefined {
  if (Number(triggers) !== 3) return undefined;
  return { whole: Number(whole ?? 0), mine: Number(mine ?? 0) };
}

/** A message's hit as searching ranks it: NaN (SQL's NULL, a zero vector) after every score. */
const rankOf = (score: number) => (Number.isNaN(score) ? Number.NEGATIVE_INFINITY : score);

/**
 * Best first, as the statement's `ORDER BY score DESC, key`: hits of equal
 * scores by key.
 */
export const bestFirst = (a: { key: string; score: number }, b: { key: string; score: number }) =>
  // Keys as SQLite compares text: by their UTF-8 bytes.
  rankOf(b.score) - rankOf(a.score) || Buffer.compare(Buffer.from(a.key), Buffer.from(b.key));

/** libSQL's `vector_distance_cos` of 32-bit vectors, computed as its C code does (32-bit sums), as a similarity. */
function similarityOf(dot: number, norm: number, queryNorm: number): number {
  // `1.0 - (dot / sqrt(norm1 * norm2))` in C, returned as a float; the statement's `1 - distance` is a double.
  return 1 - Math.fround(1 - dot / Math.sqrt(Math.fround(norm * queryNorm)));
}

/** The dot product of `dimension` floats of `data` from `offset` with `query`, as libSQL sums it (in 32 bits, in order). */
function exactDot(data: Float32Array, offset: number, query: Float32Array, dimension: number): number {
  let dot = 0;
  for (let index = 0; index < dimension; index++) {
    dot = Math.fround(dot + Math.fround((data[offset + index] as number) * (query[index] as number)));
  }
  return dot;
}

/** Whether a product of norms is a normal 32-bit float (zero, tiny or huge ones escape the margin's bound). */
const isNormal = (value: number) => value >= 2 ** -126 && value <= 3.4028234663852886e38;

/**
 * Whether libSQL's `vector_distance_cos` on this machine gives the scores
 * computed here, bit for bit (a build that fuses multiply and add would not):
 * a few fixed 512-dimension pairs are compared. Where it does not, no vectors
 * are held (every search is a statement).
 */
export async function libsqlScoresReproduced(reader: SqlReader): Promise<boolean> {
  let state = 7;
  const next = () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31 - 0.5;
  };
  for (let pair = 0; pair < 4; pair++) {
    const a = Float32Array.from({ length: 512 }, next);
    const b = Float32Array.from({ length: 512 }, next);
    const blob = (vector: Float32Array) => new Uint8Array(vector.buffer);
    const [[statement] = []] = await reader.all("SELECT 1 - vector_distance_cos(vector32(?), vector32(?))", [
      blob(a),
      blob(b),
    ]);
    if (statement !== similarityOf(exactDot(a, 0, b, 512), squaredNorm(a), squaredNorm(b))) return false;
  }
  return true;
}

/** The sum of squares of a 32-bit vector, accumulated in 32 bits as libSQL does. */
function squaredNorm(vector: Float32Array, from = 0, length = vector.length): number {
  let norm = 0;
  for (let index = from; index < from + length; index++) {
    const value = vector[index] as number;
    norm = Math.fround(norm + Math.fround(value * value));
  }
  return norm;
}

/** One resource's vectors of one index, as of the snapshot its version was read in. */
export class HeldVectors {
  private ids: string[] = [];
  private keys: string[] = [];
  private sessions: string[] = [];
  private positions = new Map<string, number>();
  private data: Float32Array;
  /** Each vector's sum of squares, as libSQL accumulates it. */
  private norms: Float32Array;

  constructor(
    readonly resourceId: string,
    readonly dimension: number,
    public version: Version,
    capacity: number,
  ) {
    this.data = new Float32Array(Math.max(capacity, 1) * dimension);
    this.norms = new Float32Array(Math.max(capacity, 1));
  }

  get size(): number {
    return this.ids.length;
  }

  /** Approximate bytes held: the vectors and their norms, and per vector three strings and a map entry. */
  get bytes(): number {
    return this.data.byteLength + this.norms.byteLength + this.ids.length * 320;
  }

  /** Writes a vector under its id, as the table's upsert does (`vector`: `dimension` 32-bit floats). */
  put(id: string, key: string, sessionId: string, vector: Float32Array): void {
    let position = this.positions.get(id);
    if (position === undefined) {
      position = this.ids.length;
      if ((position + 1) * this.dimension > this.data.length) this.grow();
      this.ids.push(id);
      this.keys.push(key);
      this.sessions.push(sessionId);
      this.positions.set(id, position);
    } else {
      this.keys[position] = key;
      this.sessions[position] = sessionId;
    }
    this.data.set(vector, position * this.dimension);
    this.norms[position] = squaredNorm(vector);
  }

  private grow(): void {
    const data = new Float32Array(this.data.length * 2);
    data.set(this.data);
    this.data = data;
    const norms = new Float32Array(this.norms.length * 2);
    norms.set(this.norms);
    this.norms = norms;
  }

  /** The statement's score of the vector at `position` for `query`. */
  private exactScore(position: number, query: Float32Array, queryNorm: number): number {
    const dot = exactDot(this.data, position * this.dimension, query, this.dimension);
    return similarityOf(dot, this.norms[position] as number, queryNorm);
  }

  /** The dot product in double precision, four sums at a time: ~5 times faster, within `margin` of the exact score. */
  private fastDot(position: number, query: Float32Array): number {
    const { data, dimension } = this;
    const offset = position * dimension;
    let a = 0;
    let b = 0;
    let c = 0;
    let d = 0;
    let index = 0;
    for (; index + 3 < dimension; index += 4) {
      a += (data[offset + index] as number) * (query[index] as number);
      b += (data[offset + index + 1] as number) * (query[index + 1] as number);
      c += (data[offset + index + 2] as number) * (query[index + 2] as number);
      d += (data[offset + index + 3] as number) * (query[index + 3] as number);
    }
    for (; index < dimension; index++) a += (data[offset + index] as number) * (query[index] as number);
    return a + b + c + d;
  }

  /**
   * How far a score from {@link fastDot} may be from the statement's: 32-bit
   * sums of `dimension` products err by at most about `dimension` × 2⁻²⁴ of
   * the sum of their sizes, which a cosine divides by at least that sum (the
   * margin is four times that, and covers the distance's own rounding). It
   * assumes unfused sums (checked at start, {@link libsqlScoresReproduced})
   * and a normal product of norms (a vector with another is always scored
   * exactly).
   */
  private get margin(): number {
    return this.dimension * 2 ** -22;
  }

  /**
   * The `topK` nearest messages, one hit per message (its best chunk), best
   * first: what the exact search's statement answers, score for score. Every
   * vector is scored fast; those of messages that may be among the best are
   * scored again as libSQL does, and ranked by that.
   */
  nearest(query: number[], options: { topK: number; sessionId?: string; excluded: Set<string> }): VectorHit[] {
    const { topK, sessionId, excluded } = options;
    const vector = Float32Array.from(query);
    const queryNorm = squaredNorm(vector);
    /**
     * Each message's vectors searched, its best fast score, and whether it is
     * scored exactly whatever that is (a vector whose fast score the margin
     * does not bound).
     */
    const messages = new Map<string, { positions: number[]; fast: number; always: boolean }>();
    for (let position = 0; position < this.ids.length; position++) {
      const key = this.keys[position] as string;
      if ((sessionId !== undefined && this.sessions[position] !== sessionId) || excluded.has(key)) continue;
      const norms = Math.fround((this.norms[position] as number) * queryNorm);
      const score = this.fastDot(position, vector) / Math.sqrt(norms);
      const bounded = isNormal(norms) && Number.isFinite(score);
      const fast = bounded ? score : Number.NEGATIVE_INFINITY;
      const found = messages.get(key);
      if (!found) messages.set(key, { positions: [position], fast, always: !bounded });
      else {
        found.positions.push(position);
        found.fast = Math.max(found.fast, fast);
        found.always ||= !bounded;
      }
    }
    // The topK-th best fast score, less the margin: no message below it can be among the best.
    const fastScores = Float64Array.from(messages.values(), ({ fast }) => fast).sort();
    const floor = fastScores.length <= topK ? Number.NEGATIVE_INFINITY : (fastScores.at(-topK) as number) - this.margin;
    const hits: { key: string; sessionId: string; score: number }[] = [];
    for (const [key, { positions, fast, always }] of messages) {
      if (fast < floor && !always) continue;
      // As SQLite's `max()` with a bare column: the session of the best chunk.
      let best: { key: string; sessionId: string; score: number } | undefined;
      for (const position of positions) {
        const score = this.exactScore(position, vector, queryNorm);
        if (!best || rankOf(score) > rankOf(best.score))
          best = { key, sessionId: this.sessions[position] as string, score };
      }
      if (best) hits.push(best);
    }
    return hits
      .sort(bestFirst)
      .slice(0, topK)
      .map((hit) => ({
        key: hit.key,
        sessionId: hit.sessionId,
        resourceId: this.resourceId,
        score: Number.isNaN(hit.score) ? 0 : hit.score,
      }));
  }

  /** Each of these messages' best chunk's similarity, for those held (as `max` of the statement: 0 for NULL). */
  similarity(query: number[], keys: string[]): Map<string, number> {
    const wanted = new Set(keys);
    const vector = Float32Array.from(query);
    const queryNorm = squaredNorm(vector);
    const scores = new Map<string, number>();
    for (let position = 0; position < this.ids.length; position++) {
      const key = this.keys[position] as string;
      if (!wanted.has(key)) continue;
      const score = this.exactScore(position, vector, queryNorm);
      const found = scores.get(key);
      if (found === undefined || rankOf(score) > rankOf(found)) scores.set(key, score);
    }
    for (const [key, score] of scores) if (Number.isNaN(score)) scores.set(key, 0);
    return scores;
  }
}

export interface RecallCache {
  /**
   * The resource's vectors in the index as last committed: held ones when no
   * vector of the resource changed since they were read, else read now (one
   * statement on `worker`). Undefined for a resource with more than the
   * cache's `upTo` vectors, or more than its bytes hold (searched with
   * statements), or while a trigger is missing.
   */
  current(indexName: string, dimension: number, resourceId: string): Promise<HeldVectors | undefined>;
  /**
   * After `vectors` were written to the index (committed): the held vectors
   * of their resources take them, when their counters say no one else changed
   * the resource's vectors meanwhile; else they are let go (read again when
   * next searched).
   */
  written(indexName: string, vectors: MessageVector[]): Promise<void>;
  /** After writes that may have failed part way: the resources' held vectors are let go. */
  forget(indexName: string, resourceIds: Iterable<string>): void;
  /** After vectors were deleted: resources found with too many are looked at again when next searched. */
  deleted(): void;
  /** After an index's table was dropped: its vectors are let go. */
  dropped(indexName: string): void;
}

/** How many index and resource pairs too large to hold are remembered (beyond it, all are forgotten). */
const maxTooMany = 10_000;

/**
 * Users' vectors held in memory, up to `maxBytes` in all (the least recently
 * searched go first), for users with at most `upTo` vectors in an index.
 *
 * @example
 * const cache = createRecallCache({ reader, worker, maxBytes: 64 * 1024 * 1024, upTo: 2000 });
 * const held = await cache.current(indexName, 512, "alice");
 * const hits = held?.nearest(queryVector, { topK: 4, excluded: new Set() });
 */
export function createRecallCache(options: {
  /** Reads the counters on the calling thread (a statement of microseconds). */
  reader: SqlReader;
  /** Reads a resource's vectors. */
  worker: SqlThread;
  maxBytes: number;
  upTo: number;
}): RecallCache {
  const { reader, worker, maxBytes, upTo } = options;
  /** Held vectors by index and resource, least recently searched first, with the bytes counted for them. */
  const held = new Map<string, { entry: HeldVectors; bytes: number }>();
  /** Index and resource pairs last found with more vectors than are held, or vectors not held (another length). */
  const tooMany = new Set<string>();
  /** Raised by `deleted`: a load begun before it does not mark its resource as too many. */
  let deletions = 0;
  /** Loads in flight, one per index and resource. */
  const loading = new Map<string, Promise<HeldVectors | undefined>>();
  const slot = (indexName: string, resourceId: string) => `${indexName}\u0000${resourceId}`;
  let bytes = 0;

  const release = (key: string) => {
    const found = held.get(key);
    if (!found) return;
    bytes -= found.bytes;
    held.delete(key);
  };
  /** Holds `entry` (again, after it changed), as the most recently searched; the least recently searched go. */
  const keep = (key: string, entry: HeldVectors) => {
    release(key);
    if (entry.bytes > maxBytes) return;
    held.set(key, { entry, bytes: entry.bytes });
    bytes += entry.bytes;
    for (const oldest of held.keys()) {
      if (bytes <= maxBytes) break;
      release(oldest);
    }
  };
  const markTooMany = (key: string) => {
    release(key);
    if (tooMany.size >= maxTooMany) tooMany.clear();
    tooMany.add(key);
  };
  const versionNow = (indexName: string, resourceId: string) =>
    reader.all(`SELECT ${versionColumns(indexName)}`, [resourceId]).then(([row = []]) => versionOf(row));

  /**
   * The resource's vectors and counters, read in one statement (one
   * snapshot); their rows only when there are at most `upTo` and they fit
   * in `maxBytes`.
   */
  async function load(indexName: string, dimension: number, resourceId: string) {
    const key = slot(indexName, resourceId);
    const deletionsBefore = deletions;
    // One vector as `bytes` counts it, and one more for the header row's room.
    const limit = Math.min(upTo, Math.floor(maxBytes / (dimension * 4 + 4 + 320)) - 1);
    const owned = `json_extract(t.metadata, '$."resource_id"') = ?1`;
    const rows = await worker.all(
      `WITH counted AS MATERIALIZED (SELECT count(*) AS mine FROM (SELECT 1 FROM ${indexName} AS t WHERE ${owned} LIMIT ${limit + 1}))
      SELECT NULL, NULL, NULL, mine, ${versionColumns(indexName)} FROM counted
      UNION ALL SELECT t.vector_id, json_extract(t.metadata, '$."message_id"'), json_extract(t.metadata, '$."thread_id"'), t.embedding, NULL, NULL, NULL
        FROM counted CROSS JOIN ${indexName} AS t WHERE counted.mine <= ${limit} AND ${owned}`,
      [resourceId],
    );
    const header = rows.find(([id]) => id === null);
    const version = header && versionOf(header.slice(4));
    if (!version) return undefined;
    const notHeld = () => {
      if (deletions === deletionsBefore) markTooMany(key);
      return undefined;
    };
    if (Number(header[3]) > limit) return notHeld();
    const entry = new HeldVectors(resourceId, dimension, version, rows.length);
    for (const [id, messageKey, session, embedding] of rows) {
      // The statement's search leaves out rows without a message key too.
      if (typeof id !== "string" || typeof messageKey !== "string") continue;
      const bytes =
        embedding instanceof Uint8Array
          ? embedding
          : embedding instanceof ArrayBuffer
            ? new Uint8Array(embedding)
            : undefined;
      // A vector of another length (a table not made by this store): searched with statements.
      if (bytes?.byteLength !== dimension * 4) return notHeld();
      const vector = new Float32Array(dimension);
      new Uint8Array(vector.buffer).set(bytes);
      entry.put(id, messageKey, String(session), vector);
    }
    keep(key, entry);
    return entry;
  }

  return {
    async current(indexName, dimension, resourceId) {
      const key = slot(indexName, resourceId);
      if (tooMany.has(key)) return undefined;
      const version = await versionNow(indexName, resourceId);
      if (!version) {
        release(key);
        return undefined;
      }
      const entry = held.get(key)?.entry;
      if (entry && sameVersion(version, entry.version)) {
        keep(key, entry);
        return entry;
      }
      // Searches of one user at once share one read; one that joins it takes its vectors only
      // when they were read at its counters or later (the read may have begun before a write).
      const joined = loading.get(key);
      if (joined) {
        const loaded = await joined;
        return loaded && notOlder(loaded.version, version) ? loaded : undefined;
      }
      const loaded = load(indexName, dimension, resourceId).finally(() => loading.delete(key));
      loading.set(key, loaded);
      return loaded;
    },

    async written(indexName, vectors) {
      await Promise.all(
        [...Map.groupBy(vectors, (vector) => vector.resourceId)].map(async ([resourceId, mine]) => {
          const key = slot(indexName, resourceId);
          const entry = held.get(key)?.entry;
          if (!entry) return;
          // Each row written raised the resource's counter by one (a row moved away from it raised it
          // too: then the counters differ, and the vectors are read again).
          const expected = { whole: entry.version.whole, mine: entry.version.mine + mine.length };
          const version = await versionNow(indexName, resourceId).catch(() => undefined);
          // Read again meanwhile (a search): those are newer.
          if (held.get(key)?.entry !== entry) return;
          if (!sameVersion(version, expected) || mine.some((vector) => vector.vector.length !== entry.dimension)) {
            release(key);
            return;
          }
          for (const vector of mine)
            entry.put(vector.id, vector.key, vector.sessionId, Float32Array.from(vector.vector));
          entry.version = expected;
          if (entry.size > upTo) markTooMany(key);
          else keep(key, entry);
        }),
      );
    },

    forget(indexName, resourceIds) {
      for (const resourceId of resourceIds) release(slot(indexName, resourceId));
    },

    deleted() {
      deletions++;
      tooMany.clear();
    },

    dropped(indexName) {
      deletions++;
      for (const key of [...held.keys(), ...tooMany]) {
        if (!key.startsWith(`${indexName}\u0000`)) continue;
        release(key);
        tooMany.delete(key);
      }
    },
  };
}
