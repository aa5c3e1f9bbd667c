import assert from "node:assert/strict";
import { test } from "node:test";
import pg from "pg";
import { postgresUrl, testBackends } from "./_backends.ts";

// The one place that says whether the PostgreSQL runs of the suites happen
// (every other file quietly runs only on libSQL without a server).
test("the PostgreSQL test server answers, with pgvector", {
  skip: postgresUrl
    ? false
    : "PostgreSQL suites skipped: no TEST_POSTGRES_URL (npm run test:postgres starts a throwaway cluster and runs them)",
}, async () => {
  assert.deepEqual(testBackends(), ["libsql", "postgres"]);
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  try {
    const { rows } = await client.query("SELECT extversion FROM pg_extension WHERE extname = 'vector'");
    assert.ok(rows.length === 0 || typeof rows[0].extversion === "string");
    const version = await client.query("SHOW server_version_num");
    assert.ok(Number(version.rows[0].server_version_num) >= 150000, "PostgreSQL 15 or newer (NULLS NOT DISTINCT)");
  } finally {
    await client.end();
  }
});
