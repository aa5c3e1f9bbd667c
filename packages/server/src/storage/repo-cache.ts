import { mkdir, mkdtemp, readdir, realpath, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import type { Clock, RepoCache, RepoCacheEntry, RepoCacheRows, RepoCheckout, RepoRequest } from "@session-bridge/core";
import type { Logger } from "pino";
import { InvalidSearchPathError, RepositoryUnavailableError } from "./errors.ts";
import { runGit } from "./git.ts";
import { type CheckedRepoRequest, checkRepoRequest, redactUrl } from "./repo-input.ts";

export interface RepoCacheOptions {
  rows: RepoCacheRows;
  clock: Clock;
  logger: Logger;
  /** Checkouts live in this folder, one sub-folder per resource key. */
  directory: string;
  /** Entries not refreshed for this long are fetched again on use. */
  ttlMs: number;
  allowLocal: boolean;
  gitTimeoutMs: number;
}

export interface RemovedRepo {
  resourceKey: string;
  url: string;
}

/** The server's repository cache: the core port plus start-up checks and cleanup. */
export interface ServerRepoCache extends RepoCache {
  /**
   * Keeps only rows whose folder is a git checkout at the recorded commit, and
   * removes folders no row owns (interrupted clones included).
   */
  validate(): Promise<{ kept: number; removed: RemovedRepo[] }>;
  /** Repositories not used since `before`. */
  findIdle(before: Date): Promise<RemovedRepo[]>;
  /** Removes the row, then its folder. */
  remove(resourceKey: string): Promise<void>;
}

const temporaryPrefix = ".tmp-";

/**
 * Git checkouts that tools search, cloned once and shared by every session.
 *
 * @example
 * const checkout = await repos.ensureRepo({ url: "https://github.com/honojs/hono", ref: "main", searchPath: "docs" });
 * // checkout.searchRoot is a folder inside checkout.localPath
 */
export function createRepoCache(options: RepoCacheOptions): ServerRepoCache {
  const { rows, clock, logger, directory, ttlMs, gitTimeoutMs } = options;
  const inFlight = new Map<string, Promise<RepoCheckout>>();

  const git = (args: string[], extra?: { cwd?: string; allowFile?: boolean }) =>
    runGit(args, { timeoutMs: gitTimeoutMs, ceiling: directory, ...extra });

  async function ensureRepo(request: RepoRequest): Promise<RepoCheckout> {
    const checked = await checkRepoRequest(request, { allowLocal: options.allowLocal, gitTimeoutMs });
    // Concurrent calls for one repository share one clone (or refresh).
    const running = inFlight.get(checked.resourceKey);
    if (running) return running;
    const work = ensureChecked(checked).finally(() => inFlight.delete(checked.resourceKey));
    inFlight.set(checked.resourceKey, work);
    return work;
  }

  async function ensureChecked(request: CheckedRepoRequest): Promise<RepoCheckout> {
    const row = await rows.get(request.resourceKey);
    if (row && (await isDirectory(row.localPath))) {
      const now = clock.now();
      const current = now.getTime() - row.lastUpdated.getTime() >= ttlMs ? await refresh(row, request) : row;
      await rows.update(row.resourceKey, { lastAccessed: now });
      return toCheckout({ ...current, lastAccessed: now }, await resolveSearchRoot(current.localPath, request));
    }
    if (row) await remove(row.resourceKey);
    return clone(request);
  }

  async function clone(request: CheckedRepoRequest): Promise<RepoCheckout> {
    await mkdir(directory, { recursive: true });
    const temporary = await mkdtemp(path.join(directory, `${temporaryPrefix}${request.resourceKey}-`));
    const finalPath = path.join(directory, request.resourceKey);
    try {
      const branch = request.ref ? ["--branch", request.ref] : [];
      try {
        await git(
          [
            "clone",
            "--quiet",
            "--depth",
            "1",
            "--single-branch",
            "--no-recurse-submodules",
            ...branch,
            "--",
            request.url,
            temporary,
          ],
          {
            allowFile: request.isLocal,
          },
        );
      } catch (error) {
        logger.warn({ url: redactUrl(request.url), ref: request.ref, err: error }, "repository clone failed");
        throw new RepositoryUnavailableError(
          request.ref ? `could not clone the repository at ref ${request.ref}` : "could not clone the repository",
          { cause: error },
        );
      }
      const commit = await git(["rev-parse", "HEAD"], { cwd: temporary });
      await resolveSearchRoot(temporary, request);
      await rm(finalPath, { recursive: true, force: true }); // a leftover no row owns
      await rename(temporary, finalPath);
      const now = clock.now();
      const row: RepoCacheEntry = {
        resourceKey: request.resourceKey,
        url: request.url,
        ref: request.ref,
        searchPath: request.searchPath,
        localPath: finalPath,
        commit,
        clonedAt: now,
        lastUpdated: now,
        lastAccessed: now,
      };
      try {
        await rows.put(row);
      } catch (error) {
        await rm(finalPath, { recursive: true, force: true });
        throw error;
      }
      logger.info({ resourceKey: row.resourceKey, url: redactUrl(row.url), ref: row.ref, commit }, "repository cloned");
      return toCheckout(row, await resolveSearchRoot(finalPath, request));
    } finally {
      await rm(temporary, { recursive: true, force: true });
    }
  }

  async function refresh(row: RepoCacheEntry, request: CheckedRepoRequest): Promise<RepoCacheEntry> {
    const cwd = row.localPath;
    try {
      await git(["fetch", "--quiet", "--depth", "1", "--no-tags", "origin", request.ref ?? "HEAD"], {
        cwd,
        allowFile: request.isLocal,
      });
      await git(["reset", "--quiet", "--hard", "FETCH_HEAD"], { cwd });
      const commit = await git(["rev-parse", "HEAD"], { cwd });
      const lastUpdated = clock.now();
      await rows.update(row.resourceKey, { commit, lastUpdated });
      if (commit !== row.commit) {
        logger.info({ resourceKey: row.resourceKey, from: row.commit, to: commit }, "repository refreshed");
      }
      return { ...row, commit, lastUpdated };
    } catch (error) {
      // A remote that is down does not take the cached copy away.
      logger.warn({ resourceKey: row.resourceKey, url: redactUrl(row.url), err: error }, "repository refresh failed");
      return row;
    }
  }

  async function resolveSearchRoot(checkoutPath: string, request: CheckedRepoRequest): Promise<string> {
    if (!request.searchPath) return checkoutPath;
    const root = await realpath(checkoutPath);
    let target: string;
    try {
      target = await realpath(path.join(checkoutPath, request.searchPath));
    } catch {
      throw new InvalidSearchPathError(`path ${request.searchPath} does not exist in the repository`);
    }
    if (target !== root && !target.startsWith(root + path.sep)) {
      throw new InvalidSearchPathError("path leads outside the repository");
    }
    return path.join(checkoutPath, request.searchPath);
  }

  async function remove(resourceKey: string): Promise<void> {
    const row = await rows.delete(resourceKey);
    await rm(row?.localPath ?? path.join(directory, resourceKey), { recursive: true, force: true });
  }

  async function isCheckoutAt(row: RepoCacheEntry): Promise<boolean> {
    if (!(await isDirectory(row.localPath))) return false;
    try {
      const [topLevel, commit] = (await git(["rev-parse", "--show-toplevel", "HEAD"], { cwd: row.localPath })).split(
        "\n",
      );
      return topLevel === (await realpath(row.localPath)) && commit === row.commit;
    } catch {
      return false;
    }
  }

  // Another process sharing the folder may be cloning into a temporary folder right now.
  async function isRecent(entryPath: string): Promise<boolean> {
    const stats = await stat(entryPath).catch(() => undefined);
    return stats !== undefined && clock.now().getTime() - stats.mtimeMs < 2 * gitTimeoutMs;
  }

  return {
    ensureRepo,

    async validate() {
      const removed: RemovedRepo[] = [];
      const owned = new Set<string>();
      for (const row of await rows.list()) {
        if (await isCheckoutAt(row)) {
          owned.add(path.resolve(row.localPath));
          continue;
        }
        logger.warn({ resourceKey: row.resourceKey }, "cached repository is missing or changed; removing it");
        await remove(row.resourceKey);
        removed.push({ resourceKey: row.resourceKey, url: row.url });
      }
      const entries = await readdir(directory).catch(() => []);
      for (const entry of entries) {
        const entryPath = path.resolve(directory, entry);
        if (owned.has(entryPath) || (entry.startsWith(temporaryPrefix) && (await isRecent(entryPath)))) continue;
        await rm(entryPath, { recursive: true, force: true });
      }
      return { kept: owned.size, removed };
    },

    async findIdle(before) {
      return (await rows.findIdle(before)).map(({ resourceKey, url }) => ({ resourceKey, url }));
    },

    remove,
  };
}

function toCheckout(row: RepoCacheEntry, searchRoot: string): RepoCheckout {
  return {
    resourceKey: row.resourceKey,
    url: row.url,
    ref: row.ref,
    searchPath: row.searchPath,
    localPath: row.localPath,
    searchRoot,
    commit: row.commit,
    clonedAt: row.clonedAt,
    lastUpdated: row.lastUpdated,
  };
}

async function isDirectory(target: string): Promise<boolean> {
  return stat(target).then(
    (stats) => stats.isDirectory(),
    () => false,
  );
}
