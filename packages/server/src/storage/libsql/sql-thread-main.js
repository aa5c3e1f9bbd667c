// One SQL worker thread (see sql-thread.ts, whose types describe the messages): its own
// connection to the file, statements kept prepared, one request at a time. Plain JavaScript,
// so the thread starts without a TypeScript loader.
import { parentPort, workerData } from "node:worker_threads";
import Database from "libsql";

const port = parentPort;
if (!port) throw new Error("sql-thread-main.js runs only as a worker thread");
/** @type {{ path: string; busyTimeoutMs: number; role: "reads" | "writes" }} */
const start = workerData;
const maxPrepared = 256;
const prepared = new Map();

function statement(connection, sql) {
  let found = prepared.get(sql);
  if (!found) {
    if (prepared.size >= maxPrepared) prepared.clear();
    found = connection.prepare(sql);
    prepared.set(sql, found);
  }
  return found;
}

// Arguments go as one array: the driver would take a lone blob for named parameters.
function run(connection, request) {
  if (request.type === "all") return statement(connection, request.sql).raw(true).all(request.args);
  connection.exec("BEGIN IMMEDIATE");
  try {
    const changed = request.statements.map(({ sql, args }) => [statement(connection, sql).run(args).changes]);
    connection.exec("COMMIT");
    return changed;
  } catch (error) {
    try {
      if (connection.inTransaction) connection.exec("ROLLBACK");
    } catch {
      // The statement's own error is the one to report; the connection rolls back when it can.
    }
    throw error;
  }
}

function serve(connection) {
  port.on("message", (request) => {
    if (request.type === "close") {
      prepared.clear();
      connection.close();
      port.close();
      return;
    }
    try {
      port.postMessage({ type: "rows", id: request.id, rows: run(connection, request) });
    } catch (error) {
      const code = typeof error?.code === "string" ? { code: error.code } : {};
      port.postMessage({ type: "failed", id: request.id, message: String(error?.message ?? error), ...code });
    }
  });
  port.postMessage({ type: "ready" });
}

let connection;
try {
  connection = new Database(start.path, { timeout: start.busyTimeoutMs });
  // As the serving thread's reader: the read thread cannot write by mistake.
  if (start.role === "reads") connection.exec("PRAGMA query_only = ON");
} catch (error) {
  // Reported as the start's failure; the thread then ends (nothing keeps it).
  port.postMessage({ type: "failed", id: -1, message: String(error?.message ?? error) });
  port.close();
}
if (connection) serve(connection);
