import type { Client } from "@libsql/client";
import { getTableName } from "drizzle-orm";
import { messagesTable, threadsTable } from "../mastra-tables.ts";
import type { SessionsVersion } from "../session-listing.ts";
import type { SqlReader } from "./reader.ts";
import { resourceVersions, sessions } from "./schema.ts";
import { haveTriggers, raiseCounters, raiseWholeCounter, wholeDatabase } from "./triggers.ts";

// The version of what the sessions API shows of a resource (see `SessionsVersion`,
// docs/storage.md), on embedded libSQL files. Each database keeps a counter per
// resource, raised by triggers in the same transaction as any change the API shows
// of it, and one for the whole database (the row of the empty resource id), raised
// whenever the triggers are made again (writes made while they were missing were
// counted by no one); it starts at a random value, so a table made again does not
// count through values it had before. A version is the four counters together. The
// counters tables are written by these triggers only (a row deleted by hand would
// count again from 1).

/** The app database's counters (the table is migration 0008's; its triggers are made here). */
const sessionVersionsTable = getTableName(resourceVersions);
/** The memory database's counters. */
const messageVersionsTable = "session_bridge_message_versions";
const sessionTriggers = ["insert", "update", "delete"].map((name) => `${sessionVersionsTable}_v1_${name}`);
const messageTriggers = ["insert", "update", "delete", "thread"].map((name) => `${messageVersionsTable}_v1_${name}`);
/** The memory database's counters, for the statements that raise them. */
export const createMessageVersionsTable = `CREATE TABLE IF NOT EXISTS ${messageVersionsTable} (resource_id TEXT PRIMARY KEY, version INTEGER NOT NULL)`;
/** SQL raising the memory database's whole counter: for a change its triggers did not count. */
export const raiseAllMessageVersions = raiseWholeCounter(messageVersionsTable);

/**
 * Makes the app database's triggers if any is missing (they go with the
 * `sessions` table if it is ever rebuilt), raising the whole database's counter
 * in the same transaction. Run after every migration. A session's turn lease
 * is not shown and raises nothing.
 */
export async function prepareSessionVersions(client: Client): Promise<void> {
  if (await haveTriggers(client, sessionTriggers)) return;
  const table = getTableName(sessions);
  const [onInsert, onUpdate, onDelete] = sessionTriggers;
  await client.batch(
    [
      `CREATE TRIGGER IF NOT EXISTS ${onInsert} AFTER INSERT ON ${table}
         BEGIN ${raiseCounters(sessionVersionsTable, "SELECT NEW.resource_id AS owner")} END`,
      `CREATE TRIGGER IF NOT EXISTS ${onUpdate} AFTER UPDATE OF id, resource_id, title, created_at, last_accessed ON ${table}
         BEGIN ${raiseCounters(sessionVersionsTable, "SELECT OLD.resource_id AS owner UNION SELECT NEW.resource_id")} END`,
      `CREATE TRIGGER IF NOT EXISTS ${onDelete} AFTER DELETE ON ${table}
         BEGIN ${raiseCounters(sessionVersionsTable, "SELECT OLD.resource_id AS owner")} END`,
      raiseWholeCounter(sessionVersionsTable),
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
  await client.execute(createMessageVersionsTable);
  if (await haveTriggers(client, messageTriggers)) return;
  const owners = (row: "NEW" | "OLD") =>
    `SELECT ${row}."resourceId" AS owner UNION SELECT "resourceId" FROM ${threadsTable} WHERE id = ${row}.thread_id`;
  const [onInsert, onUpdate, onDelete, onThreadDelete] = messageTriggers;
  await client.batch(
    [
      `CREATE TRIGGER IF NOT EXISTS ${onInsert} AFTER INSERT ON ${messagesTable}
         BEGIN ${raiseCounters(messageVersionsTable, owners("NEW"))} END`,
      `CREATE TRIGGER IF NOT EXISTS ${onUpdate} AFTER UPDATE ON ${messagesTable}
         BEGIN ${raiseCounters(messageVersionsTable, `${owners("OLD")} UNION ${owners("NEW")}`)} END`,
      `CREATE TRIGGER IF NOT EXISTS ${onDelete} AFTER DELETE ON ${messagesTable}
         BEGIN ${raiseCounters(messageVersionsTable, owners("OLD"))} END`,
      `CREATE TRIGGER IF NOT EXISTS ${onThreadDelete} AFTER DELETE ON ${threadsTable}
         BEGIN ${raiseCounters(messageVersionsTable, `SELECT OLD."resourceId" AS owner`)} END`,
      raiseAllMessageVersions,
    ],
    "write",
  );
}

/**
 * {@link SessionsVersion} read through `reader`, a connection to the app's
 * database with the memory's attached as `memory`: the four counters in one
 * statement (each file read at its last commit), with how many of the
 * triggers exist. While any is missing (a tool rebuilt a table since this
 * process started) there is no version: nothing is answered from memory.
 */
export function readResourceVersion(reader: () => SqlReader): SessionsVersion {
  const databases = [
    { schema: "main", table: sessionVersionsTable, triggers: sessionTriggers },
    { schema: "memory", table: messageVersionsTable, triggers: messageTriggers },
  ];
  const counters = databases.flatMap(({ schema, table }) =>
    [wholeDatabase, "?1"].map((resource) => `(SELECT version FROM ${schema}.${table} WHERE resource_id = ${resource})`),
  );
  const present = databases.map(
    ({ schema, triggers }) =>
      `(SELECT count(*) FROM ${schema}.sqlite_master WHERE type = 'trigger' AND name IN (${triggers.map((name) => `'${name}'`).join(", ")}))`,
  );
  const statement = `SELECT ${[...counters, ...present].join(", ")}`;
  const allTriggers = sessionTriggers.length + messageTriggers.length;
  return async (resourceId) => {
    const [row = []] = await reader().all(statement, [resourceId]);
    const found = row.slice(counters.length).reduce<number>((sum, count) => sum + Number(count), 0);
    if (found !== allTriggers) return undefined;
    return row
      .slice(0, counters.length)
      .map((counter) => counter ?? 0)
      .join(".");
  };
}
