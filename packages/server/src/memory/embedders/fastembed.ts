import { access } from "node:fs/promises";
import path from "node:path";
import { defineEmbedder, type Embedder } from "./embedder.ts";

const modelFolder = "fast-bge-small-en-v1.5";
const packageName = "fastembed";

/** Opt-in BGE small (384 dimensions) through fastembed; needs its files on disk, never downloads. */
export class FastembedUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FastembedUnavailableError";
  }
}

/**
 * BGE small en v1.5 through fastembed, from model files already in
 * `cacheDir` (`<cacheDir>/fast-bge-small-en-v1.5`). fastembed would download
 * them on first use; offline that fails after a long wait, so missing files
 * are one clear error up front instead.
 */
export async function loadFastembedEmbedder(cacheDir: string | undefined): Promise<Embedder> {
  if (!cacheDir) {
    throw new FastembedUnavailableError(
      `EMBEDDER=fastembed:bge-small-en-v1.5 needs FASTEMBED_CACHE_DIR pointing at a folder that holds ${modelFolder}/`,
    );
  }
  const folder = path.join(path.resolve(cacheDir), modelFolder);
  const present = await access(path.join(folder, "tokenizer.json")).then(
    () => true,
    () => false,
  );
  if (!present) {
    throw new FastembedUnavailableError(
      `fastembed model files not found in ${folder} (FASTEMBED_CACHE_DIR); copy ${modelFolder}/ there from a machine that has it — nothing is downloaded at run time`,
    );
  }
  let fastembed: {
    FlagEmbedding: { init(options: { model: unknown; cacheDir: string }): Promise<FlagEmbeddingModel> };
    EmbeddingModel: Record<string, unknown>;
  };
  try {
    fastembed = (await import(packageName)) as typeof fastembed;
  } catch {
    throw new FastembedUnavailableError(
      `EMBEDDER=fastembed:bge-small-en-v1.5 needs the optional package ${packageName}: npm install ${packageName}`,
    );
  }
  const model = await fastembed.FlagEmbedding.init({
    model: fastembed.EmbeddingModel.BGESmallENV15,
    cacheDir: path.resolve(cacheDir),
  });
  return defineEmbedder({
    id: "fastembed:bge-small-en-v1.5",
    dimension: 384,
    maxEmbeddingsPerCall: 64,
    async embed(texts) {
      const vectors: number[][] = [];
      for await (const batch of model.embed(texts, 64)) vectors.push(...batch.map((vector) => Array.from(vector)));
      return vectors;
    },
  });
}

interface FlagEmbeddingModel {
  embed(texts: string[], batchSize: number): AsyncIterable<ArrayLike<number>[]>;
}
