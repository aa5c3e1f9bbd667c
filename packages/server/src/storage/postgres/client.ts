import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { MigrationStatus } from "@session-bridge/core";
import { drizzle, type NodePgDatabase } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import pg from "pg";
import * as schema from "./schema.ts";

export type PgDatabase = NodePgDatabase<typeof schema> & { $client: pg.Pool };

/** drizzle-kit writes PostgreSQL's migrations here (`npm run db:generate`). */
const migrationsFolder = fileURLToPath(new URL("../../../../../drizzle/postgres", import.meta.url));
const migrationsTable = "__drizzle_migrations";
const migrationsSchema = "drizzle";

/** The advisory lock every schema change takes: concurrent starts on an empty database change it one at a time. */
const schemaLock = "session-bridge:schema";

export interface PostgresHandle {
  pool: pg.Pool;
  db: PgDatabase;
  close(): Promise<void>;
}

/**
 * One pool per database per process, shared by Drizzle and Mastra's
 * `PostgresStore`. `max` bounds the connections this process holds: several
 * processes must fit inside the server's `max_connections` (100 by default).
 *
 * @example
 * const { db, close } = openPostgres({ url: "postgres://…", max: 10 });
 */
export function openPostgres(options: { url: string; max: number }): PostgresHandle {
  const pool = new pg.Pool({ connectionString: options.url, max: options.max, idleTimeoutMillis: 30_000 });
  // An idle connection the server closed: the pool drops it and opens another when needed.
  pool.on("error", () => {});
  return { pool, db: drizzle(pool, { schema }), close: () => pool.end() };
}

/** How often a process waiting for the schema lock asks for it again. */
const schemaLockPollMs = 100;

/**
 * Runs `work` holding the schema's advisory lock: processes starting at once
 * on an empty database take turns, so table creation never races (Mastra's own
 * initialisation deadlocks when six processes run it at once).
 *
 * The lock is asked for with `pg_try_advisory_lock`, again every 100 ms, never
 * waited for inside the server: Mastra creates indexes `CONCURRENTLY`, which
 * waits for every transaction already running to end, and a `pg_advisory_lock`
 * call waiting for the holder is such a transaction. Holder and waiter would
 * then wait for each other with no deadlock PostgreSQL could see.
 */
export async function withSchemaLock<T>(pool: pg.Pool, work: () => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    for (;;) {
      const { rows } = await client.query<{ locked: boolean }>("SELECT pg_try_advisory_lock(hashtext($1)) AS locked", [
        schemaLock,
      ]);
      if (rows[0]?.locked) break;
      await new Promise((resolve) => setTimeout(resolve, schemaLockPollMs));
    }
    try {
      return await work();
    } finally {
      await client.query("SELECT pg_advisory_unlock(hashtext($1))", [schemaLock]);
    }
  } finally {
    client.release();
  }
}

/** Applies pending migrations (under the schema lock); a no-op when none are pending. */
export async function migratePostgres(handle: PostgresHandle): Promise<MigrationStatus> {
  await withSchemaLock(handle.pool, () => migrate(handle.db, { migrationsFolder, migrationsTable, migrationsSchema }));
  return postgresMigrationStatus(handle.pool);
}

/** How many migrations exist and how many the database has applied. */
export async function postgresMigrationStatus(pool: pg.Pool): Promise<MigrationStatus> {
  const journal = JSON.parse(await readFile(`${migrationsFolder}/meta/_journal.json`, "utf8")) as {
    entries: unknown[];
  };
  const table = await pool.query<{ present: boolean }>("SELECT to_regclass($1) IS NOT NULL AS present", [
    `${migrationsSchema}.${migrationsTable}`,
  ]);
  const applied = table.rows[0]?.present
    ? Number((await pool.query(`SELECT count(*) AS count FROM ${migrationsSchema}.${migrationsTable}`)).rows[0]?.count)
    : 0;
  return { applied, available: journal.entries.length };
}

/** The PostgreSQL error code (SQLSTATE) of a driver error, looking through wrappers such as DrizzleQueryError. */
export function postgresErrorCode(error: unknown): string | undefined {
  for (let current = error; current instanceof Error; current = current.cause) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}

/** SQLSTATE 23503: a foreign key points nowhere (the session is gone). */
export const isForeignKeyViolation = (error: unknown) => postgresErrorCode(error) === "23503";
