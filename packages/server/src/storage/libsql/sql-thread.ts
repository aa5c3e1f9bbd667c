import { Worker } from "node:worker_threads";
import type { Client, InValue } from "@libsql/client";
import { fillPlaceholders } from "drizzle-orm";
import { clientReader, nativeValue } from "./reader.ts";

/**
 * What the native driver binds (a `Uint8Array` as a blob). Narrower than
 * `@libsql/client`'s values: it aborts the process on a boolean and refuses a
 * `Date`.
 */
export type SqlValue = string | number | bigint | null | Uint8Array;

/** A statement's text and its positional arguments. */
export interface SqlStatement {
  sql: string;
  args: SqlValue[];
}

/**
 * A Drizzle statement built once, with `sql.placeholder`s, for a
 * {@link SqlThread}'s `write`: its text comes from the schema. Each call fills
 * the values: a placeholder in `.values()` or `.set()` through its column's
 * encoder, as Drizzle would (a `Date` to milliseconds, JSON to text); one in a
 * condition or an `sql` template as it is. Then, as the native driver needs
 * them: a boolean as 0 or 1, a `Date` as milliseconds; a value it cannot
 * bind (`undefined`, a number that is not finite, an object) throws. Building
 * a statement costs more than running it on a turn's hot path.
 *
 * @example
 * const rename = writeStatement(db.update(sessions).set({ title: sql.placeholder("title") as unknown as string }).where(eq(sessions.id, sql.placeholder("id"))));
 * await thread.write([rename({ id, title })]);
 */
export function writeStatement(query: { toSQL(): { sql: string; params: unknown[] } }) {
  const { sql, params } = query.toSQL();
  return (values: Record<string, unknown>): SqlStatement => ({
    sql,
    args: fillPlaceholders(params, values).map((value, position) => {
      const bound = nativeValue(value as InValue);
      if (isSqlValue(bound)) return bound;
      throw new TypeError(`argument ${position + 1} of "${sql}" cannot be bound: ${describe(value)}`);
    }),
  });
}

/** A value for an error message (`String` throws on an object without a prototype). */
const describe = (value: unknown) => (typeof value === "object" && value !== null ? "an object" : String(value));

/** What the native driver binds safely: text, a finite number, a 64-bit integer, NULL or a blob. */
function isSqlValue(value: unknown): value is SqlValue {
  switch (typeof value) {
    case "string":
      return true;
    case "number":
      return Number.isFinite(value);
    case "bigint":
      return BigInt.asIntN(64, value) === value;
    default:
      return value === null || value instanceof Uint8Array;
  }
}

/**
 * Statements heavy enough to hold up the thread that serves requests (a
 * vector search through the ANN index, index writes): run on their own
 * connection in a worker thread when the database is an embedded file.
 */
export interface SqlThread {
  /** The rows of a read, as arrays of column values in select order. */
  all(sql: string, args: SqlValue[]): Promise<unknown[][]>;
  /** The statements in one write transaction, all of them or none: how many rows each changed. */
  write(statements: SqlStatement[]): Promise<number[]>;
  /** Resolves once the threads are started; rejects with the reason one could not start. */
  ready(): Promise<void>;
  /** Waits for the statements in flight, then ends the thread. */
  close(): Promise<void>;
}

export interface SqlThreadOptions {
  /** One thread, for writes mostly: its connection answers `all` too (no second thread for reads). */
  writesOnly?: boolean;
}

/** What the thread is started with. */
export interface SqlThreadStart {
  path: string;
  busyTimeoutMs: number;
  /** The read thread's connection is `query_only`. */
  role: "reads" | "writes";
}

export type SqlThreadRequest =
  | ({ type: "all"; id: number } & SqlStatement)
  | { type: "write"; id: number; statements: SqlStatement[] }
  | { type: "close" };

/** `ready` once the connection is open; `failed` with id -1 when it could not be. */
export type SqlThreadReply =
  | { type: "ready" }
  /** A read's rows; a write's: one per statement, holding how many rows it changed. */
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
 * behind a search (`writesOnly`: the one for writes alone). Each runs its requests one at a time in the order sent;
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
export function openSqlThread(options: Omit<SqlThreadStart, "role"> & SqlThreadOptions): SqlThread {
  const { writesOnly, ...start } = options;
  const writes = startWorker({ ...start, role: "writes" });
  const reads = writesOnly ? writes : startWorker({ ...start, role: "reads" });
  return {
    async all(sql, args) {
      return (await reads.send({ type: "all", sql, args })) ?? [];
    },
    async write(statements) {
      if (statements.length === 0) return [];
      const changed = (await writes.send({ type: "write", statements })) ?? [];
      return changed.map(([count]) => Number(count));
    },
    async ready() {
      await Promise.all([reads.started(), writes.started()]);
    },
    async close() {
      await Promise.all(writesOnly ? [writes.close()] : [reads.close(), writes.close()]);
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
    // Whichever comes first: `ready`, its failure, an uncaught error, or the end of the thread.
    let settle: (reply: SqlThreadReply) => void = () => {};
    const onMessage = (reply: SqlThreadReply) => settle(reply);
    const onError = (error: Error) => settle({ type: "failed", id: -1, message: error.message });
    const onExit = (code: number) => settle({ type: "failed", id: -1, message: `exited with code ${code}` });
    const reply = await new Promise<SqlThreadReply>((resolve) => {
      settle = resolve;
      worker.on("message", onMessage).on("error", onError).on("exit", onExit);
    });
    worker.off("message", onMessage).off("error", onError).off("exit", onExit);
    worker.on("error", () => {});
    if (reply.type !== "ready") {
      await worker.terminate();
      throw new Error(`the SQL thread could not start: ${reply.type === "failed" ? reply.message : reply.type}`);
    }
    // After `ready`, every message answers a request.
    worker.on("message", (message: Exclude<SqlThreadReply, { type: "ready" }>) => {
      const call = calls.get(message.id);
      if (!call) return;
      calls.delete(message.id);
      if (message.type === "failed") call.reject(new SqlThreadError(message.message, message.code));
      else call.resolve(message.rows);
      // An idle thread does not keep the process alive (a storage never closed would).
      if (calls.size === 0) worker.unref();
    });
    worker.once("exit", (code) => {
      current = undefined;
      for (const call of calls.values()) call.reject(new Error(`the SQL thread stopped (code ${code})`));
      calls.clear();
    });
    return worker;
  }

  /** The thread now starting or started; a start that fails leaves the next request to try again. */
  let current: Promise<Worker> | undefined;
  function startNow(): Promise<Worker> {
    const starting = spawn();
    current = starting;
    starting.then(
      (worker) => {
        if (calls.size === 0) worker.unref();
      },
      () => {
        if (current === starting) current = undefined;
      },
    );
    return starting;
  }
  // Started now, not waited for: the first request waits, if it comes that soon.
  const first = startNow();

  return {
    /** The first start: the thread's own, or the reason it could not start. */
    started: () => first.then(() => undefined),
    send(request: Unnumbered<WorkerRequest>): Promise<unknown[][] | undefined> {
      if (closing) return Promise.reject(new Error("the SQL thread is closed"));
      const id = nextId++;
      const answer = (current ?? startNow()).then(
        (worker) =>
          new Promise<unknown[][] | undefined>((resolve, reject) => {
            calls.set(id, { resolve, reject });
            worker.ref();
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
      const exited = new Promise((resolve) => worker.once("exit", resolve));
      worker.ref();
      worker.postMessage({ type: "close" } satisfies SqlThreadRequest);
      await exited;
    },
  };
}

/** A {@link SqlThread} that runs the statements through `client`, on the calling thread. */
export function clientSqlThread(client: Client): SqlThread {
  return {
    all: clientReader(client).all,
    async write(statements) {
      if (statements.length === 0) return [];
      return (await client.batch(statements, "write")).map((result) => result.rowsAffected);
    },
    async ready() {},
    async close() {},
  };
}
