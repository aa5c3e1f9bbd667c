import assert from "node:assert/strict";
import { test } from "node:test";
import { AppError, errorCodes, SessionNotFoundError } from "@session-bridge/shared";
import pino from "pino";
import { ExportFileError, ImportConflictError, UnknownUserError } from "../transfer/errors.ts";
import { toErrorResponse } from "./error-response.ts";

function capturedLogger() {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: "debug" }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { logger, lines };
}

test("an error raised on purpose answers with its code's status from the table and its own message", () => {
  const { logger, lines } = capturedLogger();
  const error = new SessionNotFoundError("01937c4e-0000-7000-8000-000000000000");
  assert.equal(error.status, errorCodes.session_not_found.status);
  assert.deepEqual(toErrorResponse(error, logger), {
    status: 404,
    body: { error: { code: "session_not_found", message: "Session not found" } },
  });
  assert.equal(lines.length, 0, "an expected error is not logged as unexpected");
});

test("anything else is a 500 internal_error that leaks nothing and is logged", () => {
  const { logger, lines } = capturedLogger();
  const answer = toErrorResponse(new Error("SQLITE_CORRUPT at /secret/path"), logger);
  assert.deepEqual(answer, {
    status: 500,
    body: { error: { code: "internal_error", message: "Something went wrong on the server" } },
  });
  assert.equal(lines[0]?.msg, "unexpected error");
});

test("export and import failures belong to the same family, with the status a route would answer", () => {
  const failures = [
    [new ExportFileError("a.jsonl", 3, "not valid JSON"), "invalid_export_file", 400],
    [new UnknownUserError("nobody"), "user_not_found", 404],
    [new ImportConflictError("session", "01937c4e-0000-7000-8000-000000000000", 3), "import_conflict", 409],
  ] as const;
  for (const [error, code, status] of failures) {
    assert.ok(AppError.isInstance(error), code);
    assert.equal(error.name, error.constructor.name);
    assert.deepEqual([error.code, error.status, errorCodes[code].surface], [code, status, "cli"]);
  }
});
