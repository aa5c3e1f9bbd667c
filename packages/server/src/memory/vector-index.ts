import type { Client } from "@libsql/client";
import type { Embedder } from "./embedders/embedder.ts";

/** Which embedder made the vectors of an index. */
export interface VectorIndexInfo {
  embedderId: string;
  dimension: number;
  indexName: string;
}

const metaTable = "session_bridge_vector_meta";
export const pendingTable = "session_bridge_pending_vectors";

/** Stops start-up: the configured embedder did not make the stored vectors. */
export class EmbedderMismatchError extends Error {
  constructor(
    readonly configured: { id: string; dimension: number },
    readonly stored: VectorIndexInfo,
  ) {
    super(
      `EMBEDDER is ${configured.id} (${configured.dimension} dimensions) but the stored vectors were made by ` +
        `${stored.embedderId} (${stored.dimension} dimensions); run \`session-bridge reindex\` to re-embed every message ` +
        `with ${configured.id}, or set EMBEDDER=${stored.embedderId}`,
    );
    this.name = "EmbedderMismatchError";
  }
}

/**
 * The vector table for an embedder. It starts with `memory_messages` so that
 * Mastra's own thread deletion also finds it; the embedder is part of the name
 * so that two embedders of one dimension never share a table.
 */
export function indexNameFor(embedderId: string, dimension: number): string {
  const slug = embedderId
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "");
  return `memory_messages_${slug}_${dimension}`;
}

export function indexInfoFor(embedder: Pick<Embedder, "id" | "dimension">): VectorIndexInfo {
  return {
    embedderId: embedder.id,
    dimension: embedder.dimension,
    indexName: indexNameFor(embedder.id, embedder.dimension),
  };
}

/** The bridge's own tables beside Mastra's in the memory database. */
export async function ensureVectorMetaTables(client: Client): Promise<void> {
  await client.batch(
    [
      `CREATE TABLE IF NOT EXISTS ${metaTable} (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
      // Messages saved but not yet embedded: written before the message itself,
      // so work that a crash interrupted is found and finished on the next start.
      `CREATE TABLE IF NOT EXISTS ${pendingTable} (message_id TEXT PRIMARY KEY, thread_id TEXT NOT NULL, resource_id TEXT NOT NULL, created_at INTEGER NOT NULL)`,
      `CREATE INDEX IF NOT EXISTS ${pendingTable}_thread ON ${pendingTable} (thread_id)`,
    ],
    "write",
  );
}

/** Indexes on the vector table that make deleting a thread's or a message's vectors a lookup, not a scan. */
export async function ensureLookupIndexes(client: Client, indexName: string): Promise<void> {
  await client.batch(
    [
      `CREATE INDEX IF NOT EXISTS ${indexName}_thread ON ${indexName} (json_extract(metadata, '$."thread_id"'))`,
      `CREATE INDEX IF NOT EXISTS ${indexName}_message ON ${indexName} (json_extract(metadata, '$."message_id"'))`,
    ],
    "write",
  );
}

export async function readMeta<T>(client: Client, key: "active" | "reindex"): Promise<T | undefined> {
  const result = await client.execute({ sql: `SELECT value FROM ${metaTable} WHERE key = ?`, args: [key] });
  const value = result.rows[0]?.value;
  return typeof value === "string" ? (JSON.parse(value) as T) : undefined;
}

export async function writeMeta(client: Client, key: "active" | "reindex", value: unknown): Promise<void> {
  await client.execute({
    sql: `INSERT INTO ${metaTable} (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
    args: [key, JSON.stringify(value)],
  });
}

export async function deleteMeta(client: Client, key: "active" | "reindex"): Promise<void> {
  await client.execute({ sql: `DELETE FROM ${metaTable} WHERE key = ?`, args: [key] });
}

/**
 * The index the configured embedder writes to. The first start records the
 * embedder; a later start with another embedder stops with
 * {@link EmbedderMismatchError} until `session-bridge reindex` has run.
 */
export async function activeIndexFor(client: Client, embedder: Embedder): Promise<VectorIndexInfo> {
  const wanted = indexInfoFor(embedder);
  const stored = await readMeta<VectorIndexInfo>(client, "active");
  if (!stored) {
    await writeMeta(client, "active", wanted);
    return wanted;
  }
  if (stored.embedderId !== wanted.embedderId || stored.dimension !== wanted.dimension) {
    throw new EmbedderMismatchError({ id: embedder.id, dimension: embedder.dimension }, stored);
  }
  return stored;
}
