import type { TestContext } from "node:test";
import pg from "pg";
import { v7 as uuidv7 } from "uuid";
import { migratePostgres } from "../packages/server/src/storage/postgres/client.ts";
import { openPostgres, preparePostgresMemory } from "../packages/server/src/storage/postgres/postgres-storage.ts";

export type BackendName = "libsql" | "postgres";

/**
 * The PostgreSQL server the suites' PostgreSQL runs use: a throwaway cluster
 * (`npm run test:postgres` starts one; CI always does). Each test gets a fresh
 * database on it.
 */
export const postgresUrl = process.env.TEST_POSTGRES_URL || undefined;

/**
 * The backends a backend-neutral suite runs against: libSQL always, and
 * PostgreSQL when `TEST_POSTGRES_URL` is set. In CI it must be: the
 * PostgreSQL suites never silently skip there.
 */
export function testBackends(): BackendName[] {
  if (process.env.CI && !postgresUrl) {
    throw new Error("CI runs every suite on PostgreSQL too: TEST_POSTGRES_URL is not set (see .ci/run)");
  }
  return postgresUrl ? ["libsql", "postgres"] : ["libsql"];
}

let admin: pg.Pool | undefined;
const created: string[] = [];

let template: Promise<string> | undefined;

/**
 * A fresh database on the test server, already migrated (the app's tables,
 * Mastra's, the bridge's; pgvector from template1): a copy of a template this
 * test process migrated once, since Mastra's ~43 tables take a while to create.
 * The test file's databases are dropped when its process ends, after every
 * app and server of its tests has closed its connections.
 */
export async function freshPostgresDatabase(_t: TestContext): Promise<string> {
  if (!postgresUrl) throw new Error("TEST_POSTGRES_URL is not set");
  admin ??= adminPool(postgresUrl);
  template ??= migratedTemplate(admin);
  const source = await template;
  const name = `sb_${uuidv7().replaceAll("-", "")}`;
  await admin.query(`CREATE DATABASE ${name} TEMPLATE ${source}`);
  created.push(name);
  return databaseUrl(name);
}

/** A database with nothing in it (pgvector aside), dropped like the others: for tests of first start-up. */
export async function emptyPostgresDatabase(): Promise<string> {
  if (!postgresUrl) throw new Error("TEST_POSTGRES_URL is not set");
  admin ??= adminPool(postgresUrl);
  return databaseUrl(await createEmptyDatabase(admin, "sb"));
}

async function createEmptyDatabase(pool: pg.Pool, prefix: string): Promise<string> {
  const name = `${prefix}_${uuidv7().replaceAll("-", "")}`;
  await pool.query(`CREATE DATABASE ${name}`);
  created.push(name);
  return name;
}

async function migratedTemplate(pool: pg.Pool): Promise<string> {
  const name = await createEmptyDatabase(pool, "sb_template");
  const handle = openPostgres({ url: databaseUrl(name), max: 2 });
  try {
    await migratePostgres(handle);
    await preparePostgresMemory(handle);
  } finally {
    await handle.close(); // a template must have no connections when it is copied
  }
  return name;
}

function databaseUrl(name: string): string {
  const url = new URL(postgresUrl as string);
  url.pathname = `/${name}`;
  return url.toString();
}

function adminPool(url: string): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max: 2, allowExitOnIdle: true });
  pool.on("error", () => {}); // an idle connection the server closed
  return pool;
}

let dropping: Promise<void> | undefined;
process.on("beforeExit", () => {
  const pool = admin;
  if (!pool || dropping) return;
  // FORCE: a server process a test killed may still hold connections for a moment.
  dropping = Promise.all(created.splice(0).map((name) => pool.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)))
    .then(() => pool.end())
    .catch(() => undefined);
});

/**
 * The environment that puts an app (or a server process) on `backend`: a
 * fresh, migrated database, or with `empty` one nothing has touched yet.
 */
export async function backendEnvironment(
  t: TestContext,
  backend: BackendName,
  options: { empty?: boolean } = {},
): Promise<Record<string, string>> {
  if (backend !== "postgres") return {};
  return { DATABASE_URL: options.empty ? await emptyPostgresDatabase() : await freshPostgresDatabase(t) };
}
