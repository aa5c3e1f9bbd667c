import type { Client } from "@libsql/client";
import { getTableName } from "drizzle-orm";
import { messagesTable, threadsTable } from "../mastra-tables.ts";
import type { SessionsVersion } from "../session-listing.ts";
import type { SqlReader } from "./reader.ts";
import { resourceVersions, sessions } from "./schema.ts";
import { haveTriggers } from "./triggers.ts";

// The version of what the sessions API shows of a resource (see `SessionsVersion`,
// docs/storage.md), on embedded libSQL files. Each database keeps a counter per
// resource, raised by triggers in the same transaction as any change the API shows
// of it, and one for the whole database (the row of the empty resource id), raised
// whenever the triggers are made again: writes made while they were missing were
// counted by no one. A version is the four counters together.

/** The app database's counters (the table is migration 0008's; its triggers are made here). */
const sessionVersionsTable = getTableName(resourceVersions);
/** The memory database's counters. */
const messageVersionsTable = "session_bridge_message_versions";
/** The row of the whole database's counter: no resource has an empty id. */
const wholeDatabase = "''";

/** SQL raising the counter of each non-null `owner` the SELECT `owners` yields. */
const raise = (table: string, owners: string) =>
  `INSERT INTO ${table} (resource_id, version) SELECT owner, 1 FROM (${owners}) WHERE owner IS NOT NULL
     ON CONFLICT (resource_id) DO UPDATE SET version = version + 1;`;

/** SQL raising the memory database's whole counter: for a change its triggers did not count. */
export const raiseAllMessageVersions = raise(messageVersionsTable, `SELECT ${wholeDatabase} AS owner`);

/**
 * Makes the app database's triggers if any is missing (they go with the
 * `sessions` table if it is ever rebuilt), raising the whole database's counter
 * in the same transaction. Run after every migration. A session's turn lease
 * is not shown and raises nothing.
 */
export async function prepareSessionVersions(client: Client): Promise<void> {
  const table = getTableName(sessions);
  const triggers = `${sessionVersionsTable}_v1`;
  if (
    await haveTriggers(
      client,
      ["insert", "update", "delete"].map((name) => `${triggers}_${name}`),
    )
  )
    return;
  await client.batch(
    [
      `CREATE TRIGGER IF NOT EXISTS ${triggers}_insert AFTER INSERT ON ${table}
         BEGIN ${raise(sessionVersionsTable, "SELECT NEW.resource_id AS owner")} END`,
      `CREATE TRIGGER IF NOT EXISTS ${triggers}_update AFTER UPDATE OF id, resource_id, title, created_at, last_accessed ON ${table}
         BEGIN ${raise(sessionVersionsTable, "SELECT OLD.resource_id AS owner UNION SELECT NEW.resource_id")} END`,
      `CREATE TRIGGER IF NOT EXISTS ${triggers}_delete AFTER DELETE ON ${table}
         BEGIN ${raise(sessionVersionsTable, "SELECT OLD.resource_id AS owner")} END`,
      raise(sessionVersionsTable, `SELECT ${wholeDatabase} AS owner`),
    ],
    "write",
  );
}

/**
 * Makes the memory database's counters and triggers if any is missing,
 * raising its whole counter in the same transaction. A message's change raises
 * the counters of its own resource and of its thread's owner (Mastra's
 * `mastra_threads."resourceId"`, the session's owner for every thread the
 * bridge writes); a deleted thread raises its owner's. Made on every libSQL
 * memory database, remote ones too, so that a file moved between a server and
 * an embedded use keeps counting.
 */
export async function prepareMessageVersions(client: Client): Promise<void> {
  const triggers = `${messageVersionsTable}_v1`;
  await client.execute(
    `CREATE TABLE IF NOT EXISTS ${messageVersionsTable} (resource_id TEXT PRIMARY KEY, version INTEGER NOT NULL)`,
  );
  if (
    await haveTriggers(
      client,
      ["insert", "update", "delete", "thread"].map((name) => `${triggers}_${name}`),
    )
  ) {
    return;
  }
  const owners = (row: "NEW" | "OLD") =>
    `SELECT ${row}."resourceId" AS owner UNION SELECT "resourceId" FROM ${threadsTable} WHERE id = ${row}.thread_id`;
  await client.batch(
    [
      `CREATE TRIGGER IF NOT EXISTS ${triggers}_insert AFTER INSERT ON ${messagesTable}
         BEGIN ${raise(messageVersionsTable, owners("NEW"))} END`,
      `CREATE TRIGGER IF NOT EXISTS ${triggers}_update AFTER UPDATE ON ${messagesTable}
         BEGIN ${raise(messageVersionsTable, `${owners("OLD")} UNION ${owners("NEW")}`)} END`,
      `CREATE TRIGGER IF NOT EXISTS ${triggers}_delete AFTER DELETE ON ${messagesTable}
         BEGIN ${raise(messageVersionsTable, owners("OLD"))} END`,
      `CREATE TRIGGER IF NOT EXISTS ${triggers}_thread AFTER DELETE ON ${threadsTable}
         BEGIN ${raise(messageVersionsTable, `SELECT OLD."resourceId" AS owner`)} END`,
      raiseAllMessageVersions,
    ],
    "write",
  );
}

/**
 * {@link SessionsVersion} read through `reader`, a connection to the app's
 * database with the memory's attached as `memory`: the four counters in one
 * statement (each file read at its last commit).
 */
export function readResourceVersion(reader: () => SqlReader): SessionsVersion {
  const counters = [`main.${sessionVersionsTable}`, `memory.${messageVersionsTable}`].flatMap((table) =>
    [wholeDatabase, "?1"].map((resource) => `(SELECT version FROM ${table} WHERE resource_id = ${resource})`),
  );
  const statement = `SELECT ${counters.join(", ")}`;
  return async (resourceId) => {
    const [row = []] = await reader().all(statement, [resourceId]);
    return row.map((counter) => counter ?? 0).join(".");
  };
}
