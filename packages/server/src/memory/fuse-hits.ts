import type { KeywordHit, VectorHit } from "@session-bridge/core";
import type { RecallChannel } from "@session-bridge/shared";

/** A recall hit from either channel; `score` is the cosine similarity, when the vector channel found it. */
export interface FusedHit {
  key: string;
  sessionId: string;
  score: number | undefined;
  foundBy: RecallChannel[];
}

/** Reciprocal rank fusion's constant: ranks matter, and a hit in both lists beats either list's first. */
const rankOffset = 60;

/**
 * The best `topK` of both channels by reciprocal rank fusion: a hit scores
 * `1 / (60 + rank)` in each list it is in, summed. A hit both found comes
 * first; between one-channel hits of the same rank the vector hit goes first.
 * Scores of different channels are never compared, only ranks.
 *
 * @example
 * fuseHits(vectorHits, keywordHits, 4); // [{ key, sessionId, score, foundBy: ["vector", "keyword"] }, …]
 */
export function fuseHits(vector: VectorHit[], keyword: KeywordHit[], topK: number): FusedHit[] {
  const fused = new Map<string, FusedHit & { fusion: number; vectorRank: number }>();
  vector.forEach((hit, index) => {
    if (fused.has(hit.key)) return;
    fused.set(hit.key, {
      key: hit.key,
      sessionId: hit.sessionId,
      score: hit.score,
      foundBy: ["vector"],
      fusion: 1 / (rankOffset + index + 1),
      vectorRank: index,
    });
  });
  keyword.forEach((hit, index) => {
    const found = fused.get(hit.key);
    if (found?.foundBy.includes("keyword")) return;
    const fusion = 1 / (rankOffset + index + 1);
    if (found) {
      found.foundBy.push("keyword");
      found.fusion += fusion;
    } else {
      fused.set(hit.key, {
        key: hit.key,
        sessionId: hit.sessionId,
        score: undefined,
        foundBy: ["keyword"],
        fusion,
        vectorRank: Number.POSITIVE_INFINITY,
      });
    }
  });
  return [...fused.values()]
    .sort((a, b) => b.fusion - a.fusion || a.vectorRank - b.vectorRank)
    .slice(0, topK)
    .map(({ key, sessionId, score, foundBy }) => ({ key, sessionId, score, foundBy }));
}
