// One SQL worker thread (see sql-thread.ts, whose types describe the messages): its own
// connection to the file, statements kept prepared, one request at a time. Plain JavaScript,
// so the thread starts without a TypeScript loader.
import { parentPort, workerData } from "node:worker_threads";
import Database from "libsql";

const port = parentPort;
if (!port) throw new Error("sql-thread-main.js runs only as a worker thread");
/** @type {{ path: string; busyTimeoutMs: number }} */
const start = workerData;
const maxPrepared = 256;

let connection;
try {
  connection = new Database(start.path, { timeout: start.busyTimeoutMs });
} catch (error) {
  port.postMessage({ type: "failed", id: -1, message: String(error) });
  throw error;
}
const prepared = new Map();

function statement(sql) {
  let found = prepared.get(sql);
  if (!found) {
    if (prepared.size >= maxPrepared) prepared.clear();
    found = connection.prepare(sql);
    prepared.set(sql, found);
  }
  return found;
}

// Arguments go as one array: the driver would take a lone blob for named parameters.
function run(request) {
  if (request.type === "all") return statement(request.sql).raw(true).all(request.args);
  connection.exec("BEGIN IMMEDIATE");
  try {
    for (const { sql, args } of request.statements) statement(sql).run(args);
    connection.exec("COMMIT");
  } catch (error) {
    if (connection.inTransaction) connection.exec("ROLLBACK");
    throw error;
  }
  return undefined;
}

port.on("message", (request) => {
  if (request.type === "close") {
    prepared.clear();
    connection.close();
    port.close();
    return;
  }
  try {
    port.postMessage({ type: "rows", id: request.id, rows: run(request) });
  } catch (error) {
    const code = typeof error?.code === "string" ? { code: error.code } : {};
    port.postMessage({ type: "failed", id: request.id, message: String(error?.message ?? error), ...code });
  }
});
port.postMessage({ type: "ready" });
