import assert from "node:assert/strict";
import path from "node:path";
import { describe, test } from "node:test";
import { ConfigError, isLoopbackHost, loadConfig } from "./config.ts";
import { parseDuration } from "./duration.ts";

function configError(environment: Record<string, string>): ConfigError {
  try {
    loadConfig(environment);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error;
  }
  assert.fail("expected a ConfigError");
}

describe("loadConfig", () => {
  test("uses the contract's defaults on an empty environment", () => {
    const config = loadConfig({});
    const dataDir = path.resolve("./data");
    assert.equal(config.host, "127.0.0.1");
    assert.equal(config.port, 3000);
    assert.equal(config.dataDir, dataDir);
    assert.equal(config.databaseUrl, `file:${dataDir}/session-bridge.db`);
    assert.equal(config.memoryDatabaseUrl, `file:${dataDir}/memory.db`);
    assert.equal(config.auth, "none");
    assert.equal(config.model, "local:demo");
    assert.equal(config.embedder, "local:use-lite");
    assert.equal(config.sessionTtlMs, 30 * 86_400_000);
    assert.equal(config.repoTtlMs, 7 * 86_400_000);
    assert.equal(config.maxSessionsPerUser, 1000);
    assert.equal(config.repoAllowLocal, false);
    assert.equal(config.logLevel, "info");
  });

  test("reads every variable", () => {
    const config = loadConfig({
      HOST: "::1",
      PORT: "0",
      DATA_DIR: "/srv/bridge",
      DATABASE_URL: "libsql://db.example.com",
      DATABASE_AUTH_TOKEN: "secret",
      MEMORY_DATABASE_URL: "https://memory.example.com",
      AUTH: "apikey",
      MODEL: "openai:gpt-4.1-mini",
      EMBEDDER: "fastembed:bge-small-en-v1.5",
      SESSION_TTL: "12h",
      REPO_TTL: "90m",
      MAX_SESSIONS_PER_USER: "5",
      REPO_ALLOW_LOCAL: "true",
      LOG_LEVEL: "debug",
    });
    assert.deepEqual(
      [config.host, config.port, config.dataDir, config.databaseUrl, config.databaseAuthToken],
      ["::1", 0, "/srv/bridge", "libsql://db.example.com", "secret"],
    );
    assert.equal(config.memoryDatabaseUrl, "https://memory.example.com");
    assert.equal(config.auth, "apikey");
    assert.equal(config.model, "openai:gpt-4.1-mini");
    assert.equal(config.embedder, "fastembed:bge-small-en-v1.5");
    assert.equal(config.sessionTtlMs, 12 * 3_600_000);
    assert.equal(config.repoTtlMs, 90 * 60_000);
    assert.equal(config.maxSessionsPerUser, 5);
    assert.equal(config.repoAllowLocal, true);
    assert.equal(config.logLevel, "debug");
  });

  test("treats empty variables as unset", () => {
    assert.equal(loadConfig({ PORT: "", AUTH: "" }).port, 3000);
  });

  const badValues: [string, string][] = [
    ["PORT", "abc"],
    ["PORT", "70000"],
    ["PORT", "-1"],
    ["AUTH", "basic"],
    ["MODEL", "gpt-4"],
    ["MODEL", "nosuch:model"],
    ["EMBEDDER", "local"],
    ["SESSION_TTL", "forever"],
    ["SESSION_TTL", "0d"],
    ["REPO_TTL", "7 days"],
    ["MAX_SESSIONS_PER_USER", "0"],
    ["MAX_SESSIONS_PER_USER", "1.5"],
    ["REPO_ALLOW_LOCAL", "maybe"],
    ["LOG_LEVEL", "loud"],
    ["DATABASE_URL", "mysql://localhost/db"],
    ["DATABASE_POOL_SIZE", "0"],
    ["RECOVERY_INTERVAL", "soon"],
    ["MEMORY_DATABASE_URL", "./memory.db"],
  ];
  for (const [variable, value] of badValues) {
    test(`stops with one line naming ${variable} for "${value}"`, () => {
      const error = configError({ [variable]: value });
      assert.match(error.message, new RegExp(`^Invalid configuration: ${variable}: `));
      assert.doesNotMatch(error.message, /\n/);
    });
  }

  test("names every bad variable at once", () => {
    const error = configError({ PORT: "x", LOG_LEVEL: "y" });
    assert.deepEqual(
      error.issues.map((issue) => issue.split(":")[0]),
      ["PORT", "LOG_LEVEL"],
    );
  });

  test("refuses AUTH=none on a non-loopback HOST", () => {
    assert.match(configError({ HOST: "0.0.0.0" }).message, /AUTH: "none" is only allowed when HOST is a loopback/);
    assert.equal(loadConfig({ HOST: "0.0.0.0", AUTH: "apikey" }).host, "0.0.0.0");
  });
});

test("isLoopbackHost knows loopback names and addresses", () => {
  for (const host of ["127.0.0.1", "127.1.2.3", "localhost", "::1", "[::1]"])
    assert.equal(isLoopbackHost(host), true, host);
  for (const host of ["0.0.0.0", "192.168.1.2", "::", "example.com", "128.0.0.1"]) {
    assert.equal(isLoopbackHost(host), false, host);
  }
});

test("parseDuration reads units and rejects the rest", () => {
  assert.equal(parseDuration("500ms"), 500);
  assert.equal(parseDuration("30s"), 30_000);
  assert.equal(parseDuration("15m"), 900_000);
  assert.equal(parseDuration("1.5h"), 5_400_000);
  assert.equal(parseDuration("30d"), 2_592_000_000);
  for (const text of ["", "30", "d", "3w", "-1d", "1 d"]) assert.equal(parseDuration(text), undefined, text);
});
