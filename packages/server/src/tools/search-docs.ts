import type { RepoCache, ToolSessionStore } from "@session-bridge/core";
import { z } from "zod";
import { runGit } from "../storage/git.ts";
import { updateToolState } from "./tool-state.ts";

export const searchDocsName = "search_docs";

export const searchDocsInput = z.object({
  repo: z.string().min(1).max(2048).describe("https URL of a git repository"),
  ref: z.string().min(1).max(255).optional().describe("branch or tag; the default branch when absent"),
  path: z.string().min(1).max(1024).optional().describe("folder inside the repository to search"),
  query: z.string().min(1).max(500).describe("words to look for; the same query again shows more hits"),
});
export type SearchDocsInput = z.infer<typeof searchDocsInput>;

export interface SearchHit {
  file: string;
  line: number;
  snippet: string;
}

export interface SearchDocsResult {
  repo: string;
  commit: string;
  query: string;
  hits: SearchHit[];
  /** Hits shown for this query so far, this page included. */
  shown: number;
  total: number;
  /** True when asking the same query again shows more. */
  more: boolean;
}

interface SearchState extends Record<string, unknown> {
  /** Per query: how many hits earlier calls showed. */
  offsets?: Record<string, number>;
  history?: { query: string; shown: number; total: number }[];
}

export const pageSize = 10;
const maxHits = 500;

/**
 * Searches a repository with `git grep` (fixed strings, case-insensitive,
 * ranking lines by how many of the query's words they contain). Its tool
 * session is `(sessionId, "search_docs", <repository key>)` and remembers what
 * earlier turns asked and how far they read, so asking again continues.
 */
export async function searchDocs(
  dependencies: { store: ToolSessionStore; repos: RepoCache; gitTimeoutMs: number },
  sessionId: string,
  input: SearchDocsInput,
): Promise<SearchDocsResult> {
  const checkout = await dependencies.repos.ensureRepo({ url: input.repo, ref: input.ref, searchPath: input.path });
  const hits = await grep(checkout.localPath, checkout.searchPath, input.query, dependencies.gitTimeoutMs);
  const query = input.query.trim().toLowerCase();
  return updateToolState<SearchState, SearchDocsResult>(
    dependencies.store,
    { sessionId, toolName: searchDocsName, toolKey: checkout.resourceKey },
    (state) => {
      const offset = state.offsets?.[query] ?? 0;
      const start = offset >= hits.length ? 0 : offset; // past the end: start over
      const page = hits.slice(start, start + pageSize);
      const shown = start + page.length;
      return {
        state: {
          offsets: { ...state.offsets, [query]: shown },
          history: [...(state.history ?? []), { query, shown, total: hits.length }].slice(-50),
        },
        result: {
          repo: checkout.url,
          commit: checkout.commit,
          query: input.query,
          hits: page,
          shown,
          total: hits.length,
          more: shown < hits.length,
        },
      };
    },
  );
}

async function grep(cwd: string, searchPath: string | null, query: string, timeoutMs: number): Promise<SearchHit[]> {
  const words = [
    ...new Set(
      query
        .toLowerCase()
        .split(/\s+/)
        .filter((word) => word.length > 1),
    ),
  ].slice(0, 8);
  if (words.length === 0) return [];
  let output: string;
  try {
    output = await runGit(
      // Literal pathspecs: a search path such as ":(exclude)x" is a folder name, not magic.
      [
        "--literal-pathspecs",
        "grep",
        "-n",
        "-I",
        "-i",
        "-F",
        "--no-color",
        ...words.flatMap((word) => ["-e", word]),
        "--",
        searchPath ?? ".",
      ],
      { cwd, timeoutMs },
    );
  } catch (error) {
    // git grep exits 1 when nothing matches.
    if ((error as { exitCode?: number }).exitCode === 1) return [];
    throw error;
  }
  const hits = output
    .split("\n")
    .flatMap((line) => {
      const match = /^(.+?):(\d+):(.*)$/.exec(line);
      if (!match) return [];
      const [, file = "", number = "0", text = ""] = match;
      const lower = text.toLowerCase();
      const score = words.filter((word) => lower.includes(word)).length;
      return [{ file, line: Number(number), snippet: text.trim().slice(0, 300), score }];
    })
    .sort((a, b) => b.score - a.score || a.file.localeCompare(b.file) || a.line - b.line)
    .slice(0, maxHits);
  return hits.map(({ score: _score, ...hit }) => hit);
}
