import pino, { type Logger } from "pino";
import type { LogLevel } from "./config/config.ts";

export type { Logger };

/**
 * Structured JSON logs on stdout. Secrets are redacted by path; message
 * contents are only ever logged at `debug` or below.
 */
export function createLogger(level: LogLevel, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: "session-bridge" },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: ["apiKey", "token", "authorization", "*.apiKey", "*.token", "*.authorization"],
        censor: "[redacted]",
      },
    },
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
