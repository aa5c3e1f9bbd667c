import type { RecallExclusions } from "./message-store.ts";
/** Which embedder made the vectors of an index, and where they are. */
export interface VectorIndexInfo {
  embedderId: string;
  dimension: number;
  indexName: string;
}

/** One vector of one chunk of a stored message. */
export interface MessageVector {
  /** Deterministic (`<message key>#<chunk>`), so writing a message again replaces its vectors. */
  id: string;
  vector: number[];
  /** The stored message's key (see `StoredMessage.key`). */
  key: string;
  sessionId: string;
  resourceId: string;
  role: string;
  createdAt: Date;
}

export interface VectorHit {
  key: string;
  sessionId: string;
  resourceId: string;
  /** Cosine similarity. */
  score: number;
}

/** What the bridge records about its indexes: the active embedder, a reindex in progress. */
export type VectorMetaKey = "active" | "reindex";

/** Message vectors in per-embedder indexes, searched by cosine similarity. */
export interface VectorStore {
  /**
   * Creates the index for `info.dimension`-long vectors unless it exists. An
   * index a backend made with older search settings is remade at once while it
   * holds no vectors; one that holds vectors is `outdated` (it works, more
   * slowly) until reindexed: `rebuild: "begin"` before a reindex writes every
   * vector again (the backend may drop its search structure meanwhile; search
   * still answers, exactly), `rebuild: "end"` after the last (builds it).
   */
  ensureIndex(info: VectorIndexInfo, options?: { rebuild?: "begin" | "end" }): Promise<{ outdated: boolean }>;
  listIndexes(): Promise<string[]>;
  dropIndex(indexName: string): Promise<void>;
  upsert(indexName: string, vectors: MessageVector[]): Promise<void>;
  /**
   * The `topK` nearest vectors of the resource (and of one session, when given),
   * best first, one per message (its best chunk), leaving out `exclusions`.
   */
  query(
    indexName: string,
    vector: number[],
    options: { topK: number; resourceId: string; sessionId?: string; exclusions?: RecallExclusions },
  ): Promise<VectorHit[]>;
  /**
   * Each of these messages' cosine similarity to `vector` (its best chunk), for
   * those of the resource that have vectors in the index.
   */
  similarity(indexName: string, vector: number[], keys: string[], resourceId: string): Promise<Map<string, number>>;
  /** Deletes the vectors of these messages from every index. */
  deleteForMessages(keys: string[]): Promise<void>;
  /** Deletes the vectors of these sessions from every index. */
  deleteForSessions(sessionIds: string[]): Promise<void>;
  readMeta<T>(key: VectorMetaKey): Promise<T | undefined>;
  writeMeta(key: VectorMetaKey, value: unknown): Promise<void>;
  deleteMeta(key: VectorMetaKey): Promise<void>;
  close(): Promise<void>;
}
