import type { App } from "./app.ts";

export interface ServeOptions {
  /** Aborting stops the server: running work finishes, databases close. */
  signal: AbortSignal;
}

/**
 * Runs the server until `signal` aborts: applies migrations, checks the repo
 * cache, and runs cleanup now and every `CLEANUP_INTERVAL`.
 */
export async function serve(app: App, { signal }: ServeOptions): Promise<void> {
  const { logger, config } = app;
  const migrations = await app.migrate();
  logger.info(migrations, "database migrated");
  // Messages a crash left saved but not yet embedded.
  const indexed = await app.memory.indexPending();
  if (indexed > 0) logger.info({ messages: indexed }, "pending messages embedded");
  const repos = await app.repos.validate();
  logger.info({ kept: repos.kept, removed: repos.removed.length }, "repository cache checked");

  let running: Promise<void> = Promise.resolve();
  const cleanupOnce = () => {
    running = running.then(async () => {
      try {
        const report = await app.cleanup();
        logger.info(report, "cleanup finished");
      } catch (error) {
        logger.error({ err: error }, "cleanup failed");
      }
    });
  };
  cleanupOnce();
  const timer = setInterval(cleanupOnce, config.cleanupIntervalMs);

  logger.info({ dataDir: config.dataDir, auth: config.auth, model: config.model }, "session bridge ready");
  await new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    signal.addEventListener("abort", () => resolve(), { once: true });
  });
  logger.info("shutting down");
  clearInterval(timer);
  await running;
  await app.close();
}
