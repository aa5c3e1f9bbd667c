import type { Client } from "@libsql/client";
import { placeholders } from "./placeholders.ts";

/** Whether every trigger named here exists. */
export async function haveTriggers(client: Client, names: string[]): Promise<boolean> {
  const present = await client.execute({
    sql: `SELECT count(*) AS count FROM sqlite_master WHERE type = 'trigger' AND name IN (${placeholders(names)})`,
    args: names,
  });
  return Number(present.rows[0]?.count) === names.length;
}

/** The row of a database's whole counter in a counters table: no resource has an empty id. */
export const wholeDatabase = "''";

/**
 * Trigger SQL raising, in a counters table `(resource_id TEXT PRIMARY KEY,
 * version INTEGER NOT NULL)`, the counter of each non-null `owner` the SELECT
 * `owners` yields (`first`: a new counter's value).
 */
export const raiseCounters = (table: string, owners: string, first = "1") =>
  `INSERT INTO ${table} (resource_id, version) SELECT owner, ${first} FROM (${owners}) WHERE owner IS NOT NULL
     ON CONFLICT (resource_id) DO UPDATE SET version = version + 1;`;

/**
 * SQL raising a counters table's whole-database counter, new at a random
 * 48-bit value (never 0, which an absent row reads as): for changes its
 * triggers did not count (they were missing), so that a table made again does
 * not count through values it had before.
 */
export const raiseWholeCounter = (table: string) =>
  raiseCounters(table, `SELECT ${wholeDatabase} AS owner`, "1 + (random() & 281474976710655)");
