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
