import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { openDatabase } from "../packages/server/src/storage/libsql/client.ts";
import { migrateDatabase, migrationStatus } from "../packages/server/src/storage/libsql/migrate.ts";

const journal = JSON.parse(readFileSync(new URL("../drizzle/libsql/meta/_journal.json", import.meta.url), "utf8"));
const available: number = journal.entries.length;

import { makeTempDir } from "./_setup.ts";

async function tableNames(client: Awaited<ReturnType<typeof openDatabase>>["client"]): Promise<string[]> {
  const result = await client.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name");
  return result.rows.map((row) => String(row.name));
}

test("migrates an empty database and re-running changes nothing", async (t) => {
  const file = path.join(await makeTempDir(t), "nested", "app.db");
  const database = await openDatabase({ url: `file:${file}` });
  t.after(() => database.close());

  assert.deepEqual(await migrationStatus(database.db), { applied: 0, available });
  assert.deepEqual(await migrateDatabase(database.db), { applied: available, available });
  const tables = await tableNames(database.client);
  for (const table of ["sessions", "tool_sessions", "repo_cache"]) assert.ok(tables.includes(table), table);

  await database.client.execute(
    "INSERT INTO sessions (id, resource_id, title, created_at, last_accessed) VALUES ('s1', 'r1', NULL, 1, 1)",
  );
  assert.deepEqual(await migrateDatabase(database.db), { applied: available, available });
  const rows = await database.client.execute("SELECT count(*) AS count FROM sessions");
  assert.equal(rows.rows[0]?.count, 1);
});

test("runs file databases in WAL mode with a busy timeout and foreign keys on", async (t) => {
  const database = await openDatabase({ url: `file:${path.join(await makeTempDir(t), "app.db")}` });
  t.after(() => database.close());
  const pragma = async (name: string) =>
    Object.values((await database.client.execute(`PRAGMA ${name}`)).rows[0] ?? {})[0];
  assert.equal(await pragma("journal_mode"), "wal");
  assert.equal(await pragma("foreign_keys"), 1);
  assert.equal(await pragma("busy_timeout"), 5000);
});

test("two connections migrating one file at once both succeed", async (t) => {
  const file = path.join(await makeTempDir(t), "app.db");
  const first = await openDatabase({ url: `file:${file}` });
  const second = await openDatabase({ url: `file:${file}` });
  t.after(() => {
    first.close();
    second.close();
  });
  const results = await Promise.all([migrateDatabase(first.db), migrateDatabase(second.db)]);
  assert.deepEqual(results, [
    { applied: available, available },
    { applied: available, available },
  ]);
});
