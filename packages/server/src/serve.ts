import type { App } from "./app.ts";
import { processOwner } from "./turns/process-owner.ts";

/** A cleanup that takes longer than this lets another process start one. */
const cleanupLockMs = 10 * 60_000;

import { createHttpApp } from "./http/create-http-app.ts";
import { startHttpServer } from "./http/http-server.ts";

export interface ServeOptions {
  /** Aborting stops the server: running work finishes, databases close. */
  signal: AbortSignal;
}

/**
 * Runs the server until `signal` aborts (the app migrated its database when it was built): checks the repo
 * cache, listens on `HOST:PORT`, and runs cleanup now and every `CLEANUP_INTERVAL`.
 * On abort it stops accepting requests, lets running ones finish, and closes the databases.
 */
export async function serve(app: App, { signal }: ServeOptions): Promise<void> {
  const timers: NodeJS.Timeout[] = [];
  let running: Promise<void> = Promise.resolve();
  const stop = async () => {
    for (const timer of timers) clearInterval(timer);
    await running;
    await app.close();
  };
  try {
    await run(app, signal, timers, (work) => {
      running = running.then(work);
    });
  } catch (error) {
    // Start-up failed (a port in use): timers and worker threads would keep the process
    // alive. The start-up error is the one to report, whatever closing says.
    await stop().catch((failure) => app.logger.error({ err: failure }, "closing after a failed start failed"));
    throw error;
  }
  await stop();
}

async function run(
  app: App,
  signal: AbortSignal,
  timers: NodeJS.Timeout[],
  queue: (work: () => Promise<void>) => void,
): Promise<void> {
  const { logger, config } = app;
  logger.info(app.migrations, "database migrated");
  // Turns a killed process left running: marked interrupted, partial answers kept (or its ended turns' answers saved).
  const recovered = await app.turns.maintain();
  if (recovered.interrupted + recovered.restored > 0) logger.warn(recovered, "interrupted turns recovered");
  // Messages a crash left saved but not yet embedded.
  const indexed = await app.memory.indexPending();
  if (indexed > 0) logger.info({ messages: indexed }, "pending messages embedded");
  const repos = await app.repos.validate();
  logger.info({ kept: repos.kept, removed: repos.removed.length }, "repository cache checked");

  // Cleanup: one process at a time across every process on the database (a lock lease).
  const cleanupOnce = () => {
    queue(async () => {
      try {
        if (!(await app.storage.locks.tryAcquire("cleanup", processOwner, cleanupLockMs))) {
          logger.debug("cleanup skipped: another process is cleaning up");
          return;
        }
        try {
          const report = await app.cleanup();
          logger.info(report, "cleanup finished");
        } finally {
          await app.storage.locks.release("cleanup", processOwner);
        }
      } catch (error) {
        logger.error({ err: error }, "cleanup failed");
      }
    });
  };
  // Recovery: turns whose process died are marked interrupted by whichever
  // process finds them first (and old chunk logs go), every RECOVERY_INTERVAL.
  const recoverOnce = () => {
    queue(async () => {
      try {
        const turns = await app.turns.maintain();
        if (turns.interrupted + turns.restored > 0) logger.warn(turns, "interrupted turns recovered");
      } catch (error) {
        logger.error({ err: error }, "recovery failed");
      }
    });
  };
  cleanupOnce();
  timers.push(setInterval(cleanupOnce, config.cleanupIntervalMs), setInterval(recoverOnce, config.recoveryIntervalMs));

  const server = await startHttpServer(createHttpApp(app), {
    host: config.host,
    port: config.port,
    requestTimeoutMs: config.requestTimeoutMs,
  });
  logger.info(
    { url: server.url, dataDir: config.dataDir, auth: config.auth, model: config.model },
    "session bridge ready",
  );
  await new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    signal.addEventListener("abort", () => resolve(), { once: true });
  });
  logger.info("shutting down");
  await server.close();
}
