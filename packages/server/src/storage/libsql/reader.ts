import type { Client, InValue } from "@libsql/client";
import { is, Placeholder } from "drizzle-orm";
import Database from "libsql";

/**
 * Read-only statements for the paths every request takes (the token check, a
 * session, a page of sessions, message counts), answered as rows of column
 * values in select order.
 */
export interface SqlReader {
  all(sql: string, args: InValue[]): Promise<unknown[][]>;
  close(): void;
}

/** How many distinct statements a file reader keeps prepared (`IN (?, …)` lists vary in length). */
const maxPrepared = 256;

/**
 * On an embedded file, a second, query-only connection to the same file whose
 * statements stay prepared: `@libsql/client` prepares every statement again and
 * builds each row with `Object.defineProperty`, which costs more than the query
 * on these paths. In WAL mode a statement reads the last committed state, so a
 * read after an awaited write sees it. Elsewhere (a remote server, `:memory:`,
 * which a second connection would not share) the statements go through `client`.
 *
 * @example
 * const reader = openReader(client, "./data/session-bridge.db", 5_000);
 * const [row] = await reader.all("SELECT title FROM sessions WHERE id = ?", [id]);
 */
export function openReader(client: Client, filePath: string | undefined, busyTimeoutMs: number): SqlReader {
  if (filePath === undefined || filePath === ":memory:" || filePath === "") return clientReader(client);
  return openFileReader(filePath, busyTimeoutMs);
}

/**
 * A query-only connection to an embedded file (see {@link openReader}), with
 * other files attached under their schema names (`attach`: name → path), so
 * one statement can read several databases.
 *
 * @example
 * const reader = openFileReader("./data/session-bridge.db", 5_000, { memory: "./data/memory.db" });
 */
export function openFileReader(
  filePath: string,
  busyTimeoutMs: number,
  attach: Record<string, string> = {},
): SqlReader {
  const connection = new Database(filePath, { timeout: busyTimeoutMs });
  // The `readonly` option of this driver is not applied; the pragma is.
  connection.exec("PRAGMA query_only = ON");
  try {
    for (const [name, path] of Object.entries(attach)) connection.prepare(`ATTACH DATABASE ? AS "${name}"`).run(path);
  } catch (error) {
    connection.close();
    throw error;
  }
  const prepared = new Map<string, Database.Statement>();
  return {
    async all(sql, args) {
      let statement = prepared.get(sql);
      if (!statement) {
        if (prepared.size >= maxPrepared) prepared.clear();
        statement = connection.prepare(sql).raw(true);
        prepared.set(sql, statement);
      }
      return statement.all(...args.map(nativeValue)) as unknown[][];
    },
    close() {
      prepared.clear();
      connection.close();
    },
  };
}

/**
 * A Drizzle query built once, with `sql.placeholder`s, run through `reader`:
 * the statement's text comes from the schema, its rows from the cheaper path.
 *
 * @example
 * const byId = readQuery(reader, db.select({ title: sessions.title }).from(sessions).where(eq(sessions.id, sql.placeholder("id"))));
 * const [[title] = []] = await byId({ id });
 */
export function readQuery(
  reader: SqlReader,
  query: { toSQL(): { sql: string; params: unknown[] } },
): (values: Record<string, InValue>) => Promise<unknown[][]> {
  const { sql, params } = query.toSQL();
  return (values) =>
    reader.all(
      sql,
      params.map((param) => (is(param, Placeholder) ? (values[param.name] ?? null) : (param as InValue))),
    );
}

/**
 * {@link readQuery} for a page of rows: SQLite builds the page as one JSON
 * array of rows (arrays of `columns`, the query's column names, in order),
 * answered as one value. The driver hands rows over at about a microsecond
 * each; one string of 50 rows costs less than 50 rows.
 */
export function readRowsAsJson(
  reader: SqlReader,
  query: { toSQL(): { sql: string; params: unknown[] } },
  columns: string[],
  orderBy: string[],
  /** More columns from tables joined to the rows (`rows` names the query's rows), e.g. `LEFT JOIN t ON t.id = rows."id"`. */
  joined?: { columns: string[]; join: string },
): (values: Record<string, InValue>) => Promise<unknown[][]> {
  const row = [...columns.map((name) => `rows."${name}"`), ...(joined?.columns ?? [])].join(", ");
  const order = orderBy.map((term) => `rows.${term}`).join(", ");
  const page = readQuery(reader, {
    toSQL() {
      const { sql, params } = query.toSQL();
      const join = joined ? ` ${joined.join}` : "";
      return {
        sql: `SELECT json_group_array(json_array(${row}) ORDER BY ${order}) FROM (${sql}) AS rows${join}`,
        params,
      };
    },
  });
  return async (values) => {
    const [[json] = []] = await page(values);
    return JSON.parse(String(json ?? "[]")) as unknown[][];
  };
}

/** The reader of a database with no second connection: statements through `client`. */
export function clientReader(client: Client): SqlReader {
  return {
    async all(sql, args) {
      const result = await client.execute({ sql, args });
      return result.rows.map((row) => Array.from({ length: result.columns.length }, (_, index) => row[index]));
    },
    close() {},
  };
}

/** A value as the native driver binds it (it aborts the process on a boolean and refuses a `Date`). */
export function nativeValue(value: InValue): unknown {
  if (typeof value === "boolean") return value ? 1 : 0;
  if (value instanceof Date) return value.getTime();
  return value;
}
