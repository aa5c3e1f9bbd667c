import { createOpenAI } from "@ai-sdk/openai";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import type { Embedder } from "./embedder.ts";
import { startEmbedderThreads } from "./embedder-threads.ts";
import { loadFastembedEmbedder } from "./fastembed.ts";
import { embedderFromProvider } from "./provider.ts";
import { loadUseLiteEmbedder } from "./use-lite.ts";

export interface EmbedderSettings {
  fastembedCacheDir?: string | undefined;
  openaiApiKey?: string | undefined;
  ollamaBaseUrl: string;
  /** Worker threads for `local:use-lite`; 0 (the default) computes on the calling thread. */
  threads?: number;
}

/**
 * Loads the embedder named by `EMBEDDER` (`provider:model`).
 *
 * @example
 * const embedder = await loadEmbedder("local:use-lite", { ollamaBaseUrl });
 */
export async function loadEmbedder(spec: string, settings: EmbedderSettings): Promise<Embedder> {
  const separator = spec.indexOf(":");
  const provider = spec.slice(0, separator);
  const modelId = spec.slice(separator + 1);
  switch (provider) {
    case "local":
      if (modelId !== "use-lite") throw new Error(`EMBEDDER: unknown local embedder "${modelId}"; use local:use-lite`);
      return settings.threads
        ? startEmbedderThreads({ embedderId: spec, threads: settings.threads })
        : loadUseLiteEmbedder();
    case "fastembed":
      if (modelId !== "bge-small-en-v1.5") {
        throw new Error(`EMBEDDER: unknown fastembed model "${modelId}"; use fastembed:bge-small-en-v1.5`);
      }
      return loadFastembedEmbedder(settings.fastembedCacheDir);
    case "openai":
      if (!settings.openaiApiKey) throw new Error("EMBEDDER: openai embedders need OPENAI_API_KEY");
      return embedderFromProvider(spec, createOpenAI({ apiKey: settings.openaiApiKey }).embeddingModel(modelId));
    case "ollama":
      return embedderFromProvider(
        spec,
        createOpenAICompatible({ name: "ollama", baseURL: settings.ollamaBaseUrl }).embeddingModel(modelId),
      );
    default:
      throw new Error(`EMBEDDER: unknown provider "${provider}"`);
  }
}
