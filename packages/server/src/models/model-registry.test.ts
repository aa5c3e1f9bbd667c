import assert from "node:assert/strict";
import { test } from "node:test";
import { LocalDemoModel } from "./local-demo-model.ts";
import { ModelUnavailableError, resolveLanguageModel } from "./model-registry.ts";

const settings = { ollamaBaseUrl: "http://127.0.0.1:11434/v1" };

test("resolves every configured provider through the registry, without calling it", () => {
  assert.ok(resolveLanguageModel("local:demo", settings) instanceof LocalDemoModel);
  const openai = resolveLanguageModel("openai:gpt-4.1-mini", { ...settings, openaiApiKey: "sk-test" });
  assert.deepEqual([openai.provider.split(".")[0], openai.modelId], ["openai", "gpt-4.1-mini"]);
  const anthropic = resolveLanguageModel("anthropic:claude-sonnet-4-5", { ...settings, anthropicApiKey: "k" });
  assert.deepEqual([anthropic.provider.split(".")[0], anthropic.modelId], ["anthropic", "claude-sonnet-4-5"]);
  const ollama = resolveLanguageModel("ollama:llama3.2", settings);
  assert.deepEqual([ollama.provider.split(".")[0], ollama.modelId], ["ollama", "llama3.2"]);
});

test("a provider without its key, or an unknown local model, stops with a clear message", () => {
  assert.throws(() => resolveLanguageModel("openai:gpt-4.1-mini", settings), {
    name: ModelUnavailableError.name,
    message: /OPENAI_API_KEY/,
  });
  assert.throws(() => resolveLanguageModel("anthropic:claude-sonnet-4-5", settings), { message: /ANTHROPIC_API_KEY/ });
  assert.throws(() => resolveLanguageModel("local:nope", settings), { message: /local:demo is the offline one/ });
});
