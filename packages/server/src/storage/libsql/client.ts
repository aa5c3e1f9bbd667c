import { mkdir } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { type Client, createClient } from "@libsql/client";
import { drizzle, type LibSQLDatabase } from "drizzle-orm/libsql";
import { openReader, type SqlReader } from "./reader.ts";
import * as schema from "./schema.ts";
import { clientSqlThread, openSqlThread, type SqlThread, type SqlThreadOptions } from "./sql-thread.ts";

export type Database = LibSQLDatabase<typeof schema> & { $client: Client };

export interface DatabaseHandle {
  client: Client;
  db: Database;
  /** The hot read paths' statements (see {@link openReader}). */
  reader: SqlReader;
  /** True for an embedded file; false for a remote libSQL server. */
  isLocalFile: boolean;
  /** The embedded file's path as the client opened it (not for a remote server or `:memory:`). */
  file: string | undefined;
  /** How long a connection to it waits for another's lock. */
  busyTimeoutMs: number;
  /**
   * A connection in a worker thread for statements that would hold up the
   * serving thread (see {@link SqlThread}); on a remote server or `:memory:`,
   * the client itself. The caller closes it.
   */
  openThread(options?: SqlThreadOptions): SqlThread;
  close(): void;
}

export interface OpenDatabaseOptions {
  url: string;
  authToken?: string | undefined;
  /** SQLite busy timeout: how long a writer waits for another writer's lock. */
  busyTimeoutMs?: number;
}

/** The path of a `file:` URL (percent-escapes decoded, as the client decodes them), or `undefined` for a remote database. */
export function localDatabasePath(url: string): string | undefined {
  if (!url.startsWith("file:")) return undefined;
  const withoutQuery = url.split("?")[0] ?? url;
  if (url.startsWith("file://")) return fileURLToPath(withoutQuery);
  const path = withoutQuery.slice("file:".length);
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/**
 * Opens one client per database per process, shared by everything that uses
 * that database. Embedded files get their folder created and run in WAL mode;
 * libSQL turns foreign keys on for every connection it opens.
 *
 * @example
 * const { db, close } = await openDatabase({ url: "file:./data/session-bridge.db" });
 */
export async function openDatabase(options: OpenDatabaseOptions): Promise<DatabaseHandle> {
  const filePath = localDatabasePath(options.url);
  if (filePath !== undefined && filePath !== ":memory:") {
    await mkdir(path.dirname(path.resolve(filePath)), { recursive: true });
  }
  // Without a busy timeout, writers sharing a file fail with SQLITE_BUSY under load.
  const busyTimeoutMs = options.busyTimeoutMs ?? 5_000;
  const client = createClient({ url: options.url, authToken: options.authToken, timeout: busyTimeoutMs });
  try {
    let openedFile: string | undefined;
    if (filePath !== undefined && filePath !== ":memory:") {
      await client.execute("PRAGMA journal_mode = WAL");
      // The file as the client opened it (it decodes the URL's path its own way): the reader opens the same one.
      const main = (await client.execute("PRAGMA database_list")).rows.find((row) => row.name === "main");
      openedFile = typeof main?.file === "string" && main.file !== "" ? main.file : undefined;
    }
    const reader = openReader(client, openedFile, busyTimeoutMs);
    return {
      client,
      db: drizzle(client, { schema }),
      reader,
      isLocalFile: filePath !== undefined,
      file: openedFile,
      busyTimeoutMs,
      openThread: (threadOptions = {}) =>
        openedFile === undefined
          ? clientSqlThread(client)
          : openSqlThread({ path: openedFile, busyTimeoutMs, ...threadOptions }),
      close: () => {
        reader.close();
        client.close();
      },
    };
  } catch (error) {
    client.close();
    throw error;
  }
}
