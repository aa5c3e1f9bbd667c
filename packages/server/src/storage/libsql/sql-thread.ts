import { once } from "node:events";
import { Worker } from "node:worker_threads";
import type { Client, InValue } from "@libsql/client";

/** A statement's text and its positional arguments (a `Uint8Array` binds as a blob). */
export interface SqlStatement {
  sql: string;
  args: InValue[];
}

/**
 * Statements heavy enough to hold up the thread that serves requests (a
 * vector search through the ANN index, index writes): run on their own
 * connection in a worker thread when the database is an embedded file.
 */
export interface SqlThread {
  /** The rows of a read, as arrays of column values in select order. */
  all(sql: string, args: InValue[]): Promise<unknown[][]>;
  /** The statements in one write transaction: all of them or none. */
  write(statements: SqlStatement[]): Promise<void>;
  /** Waits for the statements in flight, then ends the thread. */
  close(): Promise<void>;
}

/** What the thread is started with. */
export interface SqlThreadStart {
  path: string;
  busyTimeoutMs: number;
}

export type SqlThreadRequest =
  | ({ type: "all"; id: number } & SqlStatement)
  | { type: "write"; id: number; statements: SqlStatement[] }
  | { type: "close" };

/** `ready` once the connection is open; `failed` with id -1 when it could not be. */
export type SqlThreadReply =
  | { type: "ready" }
  | { type: "rows"; id: number; rows: unknown[][] | undefined }
  | { type: "failed"; id: number; message: string; code?: string };

/** The driver's error, as the thread reported it: its message and SQLite code. */
export class SqlThreadError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = "SqlThreadError";
  }
}

const entry = new URL("./sql-thread-main.js", import.meta.url);

/**
 * A {@link SqlThread} on an embedded file (`path`): two worker threads
 * (`node:worker_threads`), each with its own connection and its statements
 * kept prepared, one for reads and one for writes, so a write never waits
 * behind a search. Each runs its requests one at a time in the order sent;
 * in WAL mode a read after an awaited write sees it. Elsewhere (a remote
 * server, `:memory:`) the statements go through the client: see
 * {@link clientSqlThread}. A thread that dies fails its requests; the next
 * request starts another.
 *
 * @example
 * const thread = openSqlThread({ path: "./data/memory.db", busyTimeoutMs: 5_000 });
 * const rows = await thread.all("SELECT id FROM vector_top_k('v_idx', vector32(?), 100)", [query]);
 * await thread.close();
 */
export function openSqlThread(start: SqlThreadStart): SqlThread {
  const reads = startWorker(start);
  const writes = startWorker(start);
  return {
    async all(sql, args) {
      return (await reads.send({ type: "all", sql, args })) ?? [];
    },
    async write(statements) {
      if (statements.length === 0) return;
      await writes.send({ type: "write", statements });
    },
    async close() {
      await Promise.all([reads.close(), writes.close()]);
    },
  };
}

type WorkerRequest = Exclude<SqlThreadRequest, { type: "close" }>;
type Unnumbered<T> = T extends unknown ? Omit<T, "id"> : never;

/**
 * One worker thread with its connection, started at once; a start that failed,
 * or a thread that died, is started again by the next request.
 */
function startWorker(start: SqlThreadStart) {
  type Call = { resolve: (rows: unknown[][] | undefined) => void; reject: (error: Error) => void };
  const calls = new Map<number, Call>();
  /** Every request not yet answered, for `close`. */
  const unanswered = new Set<Promise<unknown>>();
  let nextId = 0;
  let closing = false;

  async function spawn(): Promise<Worker> {
    const worker = new Worker(entry, {
      workerData: start satisfies SqlThreadStart,
      // Plain JavaScript: no loader the process was started with is needed (tsx's takes ~150 ms to start).
      execArgv: [],
    });
    worker.on("error", () => {});
    const [reply] = (await Promise.race([
      once(worker, "message"),
      once(worker, "exit").then(([code]) => [{ type: "failed", id: -1, message: `exited with code ${code}` }]),
    ])) as [SqlThreadReply];
    if (reply.type !== "ready") {
      await worker.terminate();
      throw new Error(`the SQL thread could not start: ${reply.type === "failed" ? reply.message : reply.type}`);
    }
    worker.on("message", (message: SqlThreadReply) => {
      if (message.type === "ready") return;
      const call = calls.get(message.id);
      if (!call) return;
      calls.delete(message.id);
      if (message.type === "failed") call.reject(new SqlThreadError(message.message, message.code));
      else call.resolve(message.rows);
    });
    worker.once("exit", (code) => {
      current = undefined;
      for (const call of calls.values()) call.reject(new Error(`the SQL thread stopped (code ${code})`));
      calls.clear();
    });
    return worker;
  }

  // Started now, not waited for: the first request waits, if it comes that soon.
  let current: Promise<Worker> | undefined = spawn();
  current.catch(() => {
    current = undefined;
  });

  return {
    send(request: Unnumbered<WorkerRequest>): Promise<unknown[][] | undefined> {
      if (closing) return Promise.reject(new Error("the SQL thread is closed"));
      current ??= spawn().catch((error: unknown) => {
        current = undefined;
        throw error;
      });
      const id = nextId++;
      const answer = current.then(
        (worker) =>
          new Promise<unknown[][] | undefined>((resolve, reject) => {
            calls.set(id, { resolve, reject });
            worker.postMessage({ ...request, id } as WorkerRequest);
          }),
      );
      unanswered.add(answer);
      const forget = () => unanswered.delete(answer);
      answer.then(forget, forget);
      return answer;
    },
    /** Waits for the requests in flight, then ends the thread. */
    async close(): Promise<void> {
      closing = true;
      await Promise.allSettled(unanswered);
      const worker = await current?.catch(() => undefined);
      if (!worker) return;
      const exited = once(worker, "exit");
      worker.postMessage({ type: "close" } satisfies SqlThreadRequest);
      await exited;
    },
  };
}

/** A {@link SqlThread} that runs the statements through `client`, on the calling thread. */
export function clientSqlThread(client: Client): SqlThread {
  return {
    async all(sql, args) {
      const result = await client.execute({ sql, args });
      return result.rows.map((row) => Array.from({ length: result.columns.length }, (_, index) => row[index]));
    },
    async write(statements) {
      if (statements.length === 0) return;
      await client.batch(statements, "write");
    },
    async close() {},
  };
}
