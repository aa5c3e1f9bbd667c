import { createHash } from "node:crypto";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { RepoRequest } from "@session-bridge/core";
import { InvalidRefError, InvalidRepositoryError, InvalidSearchPathError } from "./errors.ts";
import { runGit } from "./git.ts";

/** A repository request that passed every check, with its cache key. */
export interface CheckedRepoRequest {
  url: string;
  ref: string | null;
  searchPath: string | null;
  resourceKey: string;
  isLocal: boolean;
}

const controlCharacters = /[\u0000-\u001f\u007f]/;
const maxLength = 2048;

/**
 * Checks a repository request that came from a model or a user. Everything is
 * refused unless proven harmless: only `https://` URLs without credentials (and
 * `file://` URLs or absolute paths when local repositories are allowed), refs
 * that `git check-ref-format` accepts, and search paths that stay inside the
 * checkout lexically (symlinks are checked after cloning).
 */
export async function checkRepoRequest(
  request: RepoRequest,
  options: { allowLocal: boolean; gitTimeoutMs: number },
): Promise<CheckedRepoRequest> {
  const { url, isLocal } = checkRepoUrl(request.url, options.allowLocal);
  const ref = await checkRef(request.ref, options.gitTimeoutMs);
  const searchPath = checkSearchPath(request.searchPath);
  return { url, ref, searchPath, isLocal, resourceKey: repoResourceKey(url, ref, searchPath) };
}

/** The stable key of one (repository, ref, search path); tool sessions of `search_docs` use it. */
export function repoResourceKey(url: string, ref: string | null, searchPath: string | null): string {
  return createHash("sha256")
    .update(JSON.stringify([url, ref, searchPath]))
    .digest("hex")
    .slice(0, 32);
}

/** A URL safe to log: without user, password, query or fragment. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = "";
    parsed.password = "";
    parsed.search = "";
    parsed.hash = "";
    return parsed.href;
  } catch {
    return "<unparseable url>";
  }
}

export function checkRepoUrl(input: unknown, allowLocal: boolean): { url: string; isLocal: boolean } {
  if (typeof input !== "string" || input.length === 0) {
    throw new InvalidRepositoryError("repository URL is required");
  }
  if (input.length > maxLength || controlCharacters.test(input) || input !== input.trim()) {
    throw new InvalidRepositoryError("repository URL contains characters that are not allowed");
  }
  if (input.startsWith("-")) throw new InvalidRepositoryError("repository URL must not start with '-'");

  if (/^https:\/\//i.test(input)) {
    let parsed: URL;
    try {
      parsed = new URL(input);
    } catch {
      throw new InvalidRepositoryError("repository URL is not a valid URL");
    }
    // Never echo the URL here: it holds the secret.
    if (parsed.username || parsed.password) {
      throw new InvalidRepositoryError("credentials in repository URLs are not allowed");
    }
    if (!parsed.hostname) throw new InvalidRepositoryError("repository URL has no host");
    parsed.hash = "";
    return { url: parsed.href, isLocal: false };
  }

  const isFileUrl = /^file:\/\//i.test(input);
  if (isFileUrl || input.startsWith("/")) {
    if (!allowLocal) {
      throw new InvalidRepositoryError("local repositories are not allowed here (REPO_ALLOW_LOCAL is off)");
    }
    let localPath: string;
    try {
      localPath = isFileUrl ? fileURLToPath(input) : input;
    } catch {
      throw new InvalidRepositoryError("repository file URL is not valid");
    }
    if (!path.isAbsolute(localPath)) throw new InvalidRepositoryError("local repository paths must be absolute");
    return { url: pathToFileURL(path.normalize(localPath)).href, isLocal: true };
  }

  throw new InvalidRepositoryError(
    allowLocal
      ? "only https:// URLs, file:// URLs and absolute paths are allowed as repositories"
      : "only https:// repository URLs are allowed",
  );
}

export async function checkRef(input: unknown, gitTimeoutMs: number): Promise<string | null> {
  if (input === undefined || input === null || input === "") return null;
  if (typeof input !== "string") throw new InvalidRefError("ref must be a string");
  if (input.length > 255 || controlCharacters.test(input)) throw new InvalidRefError("ref is not a valid git ref");
  if (input.startsWith("-")) throw new InvalidRefError("ref must not start with '-'");
  try {
    await runGit(["check-ref-format", "--allow-onelevel", input], { timeoutMs: gitTimeoutMs });
  } catch {
    throw new InvalidRefError("ref is not a valid git ref");
  }
  return input;
}

export function checkSearchPath(input: unknown): string | null {
  if (input === undefined || input === null) return null;
  if (typeof input !== "string") throw new InvalidSearchPathError("path must be a string");
  if (input.length > maxLength || controlCharacters.test(input)) {
    throw new InvalidSearchPathError("path contains characters that are not allowed");
  }
  if (input.startsWith("/") || path.win32.isAbsolute(input)) {
    throw new InvalidSearchPathError("path must be relative to the repository");
  }
  if (input.startsWith("-")) throw new InvalidSearchPathError("path must not start with '-'");
  if (input.split(/[/\\]/).includes("..")) throw new InvalidSearchPathError("path must not contain '..'");
  const normalized = path.posix.normalize(input).replace(/\/+$/, "");
  return normalized === "." || normalized === "" ? null : normalized;
}
