import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import type { HttpApp } from "./http-env.ts";

/** The playground's files as served: the page and its bundled script and styles. */
export interface PlaygroundAssets {
  html: string;
  script: string;
  styles: string;
}

const playgroundDir = fileURLToPath(new URL("../../playground/", import.meta.url));

/** Paths the playground answers on (all `GET`, all public). */
export const playgroundPaths = { page: "/", script: "/playground/app.js", styles: "/playground/app.css" } as const;

let cached: Promise<PlaygroundAssets> | undefined;

/**
 * Bundles the playground (React, `@ai-sdk/react`) in memory with esbuild, once
 * per process: the normal start builds it, nothing generated is committed or
 * written to disk. A failed build is not cached, so the next request retries.
 */
export function loadPlaygroundAssets(): Promise<PlaygroundAssets> {
  cached ??= bundlePlayground().catch((error: unknown) => {
    cached = undefined;
    throw error;
  });
  return cached;
}

async function bundlePlayground(): Promise<PlaygroundAssets> {
  const [result, html] = await Promise.all([
    build({
      entryPoints: { app: `${playgroundDir}main.tsx` },
      bundle: true,
      write: false,
      outdir: "/playground",
      format: "esm",
      platform: "browser",
      target: "es2022",
      jsx: "automatic",
      minify: true,
      legalComments: "none",
      define: { "process.env.NODE_ENV": '"production"' },
      logLevel: "silent",
    }),
    readFile(`${playgroundDir}index.html`, "utf8"),
  ]);
  const output = (extension: string) => {
    const file = result.outputFiles.find((candidate) => candidate.path.endsWith(extension));
    if (!file) throw new Error(`the playground bundle has no ${extension} output`);
    return file.text;
  };
  return { html, script: output(".js"), styles: output(".css") };
}

/** `GET /` (the playground page) and its script and styles; public, the page asks for a key itself. */
export function registerPlaygroundRoutes(http: HttpApp): void {
  const assets = loadPlaygroundAssets;
  const noCache = { "cache-control": "no-cache" };

  http.get(playgroundPaths.page, async (context) => context.html((await assets()).html, 200, noCache));
  http.get(playgroundPaths.script, async (context) =>
    context.body((await assets()).script, 200, { ...noCache, "content-type": "text/javascript; charset=utf-8" }),
  );
  http.get(playgroundPaths.styles, async (context) =>
    context.body((await assets()).styles, 200, { ...noCache, "content-type": "text/css; charset=utf-8" }),
  );
}
