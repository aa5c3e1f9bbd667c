import type { Logger } from "pino";

/**
 * The server's policy for errors nobody handled: a stray rejected promise is
 * logged and the server keeps serving (one failed background task must not
 * take every user's turn down); an uncaught exception leaves the process in an
 * unknown state, so it is logged and the process exits for its supervisor to
 * restart it. Returns a function that removes both handlers.
 */
export function installProcessGuards(logger: Logger): () => void {
  const onRejection = (reason: unknown) => {
    logger.error({ err: reason }, "unhandled promise rejection");
  };
  const onException = (error: Error) => {
    logger.fatal({ err: error }, "uncaught exception; exiting");
    logger.flush();
    process.exit(1);
  };
  process.on("unhandledRejection", onRejection);
  process.on("uncaughtException", onException);
  return () => {
    process.off("unhandledRejection", onRejection);
    process.off("uncaughtException", onException);
  };
}
