import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { migrate } from "drizzle-orm/libsql/migrator";
import type { Database } from "./client.ts";
import { prepareSessionVersions } from "./resource-versions.ts";

/** drizzle-kit writes migrations here (`npm run db:generate`). */
export const migrationsFolder = fileURLToPath(new URL("../../../../../drizzle/libsql", import.meta.url));
const migrationsTable = "__drizzle_migrations";

export interface MigrationStatus {
  applied: number;
  available: number;
}

/**
 * Applies pending migrations; a no-op when none are pending. Two processes
 * starting at once may race: the loser's transaction rolls back and it tries
 * again, finding the work done. Then makes the triggers of the sessions'
 * version counters if any is missing (see `prepareSessionVersions`).
 */
export async function migrateDatabase(db: Database, attempts = 3): Promise<MigrationStatus> {
  for (let attempt = 1; ; attempt++) {
    try {
      await migrate(db, { migrationsFolder, migrationsTable });
      await prepareSessionVersions(db.$client);
      return await migrationStatus(db);
    } catch (error) {
      if (attempt >= attempts) throw error;
    }
  }
}

/** How many migrations exist and how many the database has applied. */
export async function migrationStatus(db: Database): Promise<MigrationStatus> {
  const journal = JSON.parse(await readFile(`${migrationsFolder}/meta/_journal.json`, "utf8")) as {
    entries: unknown[];
  };
  const table = await db.$client.execute(
    "SELECT count(*) AS count FROM sqlite_master WHERE type = 'table' AND name = ?",
    [migrationsTable],
  );
  const applied =
    Number(table.rows[0]?.count ?? 0) === 0
      ? 0
      : Number((await db.$client.execute(`SELECT count(*) AS count FROM ${migrationsTable}`)).rows[0]?.count ?? 0);
  return { applied, available: journal.entries.length };
}
