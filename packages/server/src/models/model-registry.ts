import { createAnthropic } from "@ai-sdk/anthropic";
import { createOpenAI } from "@ai-sdk/openai";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import type { LanguageModelV4 } from "@ai-sdk/provider";
import { createProviderRegistry, customProvider } from "ai";
import { LocalDemoModel } from "./local-demo-model.ts";

export interface ModelSettings {
  openaiApiKey?: string | undefined;
  anthropicApiKey?: string | undefined;
  ollamaBaseUrl: string;
}

/** A configured model that cannot work (e.g. no key): start-up stops with this message. */
export class ModelUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ModelUnavailableError";
  }
}

/**
 * Resolves `MODEL` (`provider:model`) through the AI SDK provider registry:
 * `local:demo` (offline), `openai:…`, `anthropic:…`, `ollama:…`.
 *
 * @example
 * const model = resolveLanguageModel("local:demo", { ollamaBaseUrl });
 */
export function resolveLanguageModel(spec: string, settings: ModelSettings): LanguageModelV4 {
  const provider = spec.slice(0, spec.indexOf(":"));
  if (provider === "openai" && !settings.openaiApiKey) {
    throw new ModelUnavailableError(`MODEL is ${spec} but OPENAI_API_KEY is not set`);
  }
  if (provider === "anthropic" && !settings.anthropicApiKey) {
    throw new ModelUnavailableError(`MODEL is ${spec} but ANTHROPIC_API_KEY is not set`);
  }
  const registry = createProviderRegistry({
    local: customProvider({ languageModels: { demo: new LocalDemoModel() } }),
    openai: createOpenAI({ apiKey: settings.openaiApiKey ?? "" }),
    anthropic: createAnthropic({ apiKey: settings.anthropicApiKey ?? "" }),
    ollama: createOpenAICompatible({ name: "ollama", baseURL: settings.ollamaBaseUrl }),
  });
  try {
    return registry.languageModel(spec as Parameters<typeof registry.languageModel>[0]) as LanguageModelV4;
  } catch {
    throw new ModelUnavailableError(`MODEL: no model "${spec}"; local:demo is the offline one`);
  }
}
