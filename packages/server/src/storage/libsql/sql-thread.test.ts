import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { createClient } from "@libsql/client";
import { and, eq, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/libsql";
import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { clientSqlThread, openSqlThread, type SqlThread, writeStatement } from "./sql-thread.ts";

/** A file with a table `t (id INTEGER PRIMARY KEY, name TEXT UNIQUE)` in WAL mode, and a client on it. */
async function fixture(t: import("node:test").TestContext) {
  const directory = await mkdtemp(path.join(tmpdir(), "session-bridge-sql-thread-"));
  const file = path.join(directory, "test.db");
  const client = createClient({ url: `file:${file}` });
  await client.execute("PRAGMA journal_mode = WAL");
  await client.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE, data BLOB)");
  t.after(async () => {
    client.close();
    await rm(directory, { recursive: true, force: true });
  });
  return { file, client };
}

for (const kind of ["worker threads", "one worker thread (writesOnly)", "the client"] as const) {
  test(`SqlThread (${kind}): reads see awaited writes; a failed write leaves nothing; errors keep their code`, async (t) => {
    const { file, client } = await fixture(t);
    const thread: SqlThread =
      kind === "the client"
        ? clientSqlThread(client)
        : openSqlThread({ path: file, busyTimeoutMs: 5_000, writesOnly: kind !== "worker threads" });
    t.after(() => thread.close());

    const changed = await thread.write([
      { sql: "INSERT INTO t (name, data) VALUES (?, ?)", args: ["a", new Uint8Array([1, 2, 3])] },
      { sql: "INSERT INTO t (name) VALUES (?)", args: ["b"] },
      { sql: "UPDATE t SET data = x'00' WHERE name = ?", args: ["nobody"] },
    ]);
    assert.deepEqual(changed, [1, 1, 0], "how many rows each statement changed");
    assert.deepEqual(await thread.all("SELECT name, length(data) FROM t ORDER BY id", []), [
      ["a", 3],
      ["b", null],
    ]);

    // The second statement breaks the unique name: the first is rolled back with it.
    const failed = await thread
      .write([
        { sql: "INSERT INTO t (name) VALUES (?)", args: ["c"] },
        { sql: "INSERT INTO t (name) VALUES (?)", args: ["a"] },
      ])
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    assert.ok(failed instanceof Error);
    assert.match(String((failed as { code?: unknown }).code), /^SQLITE_CONSTRAINT/);
    assert.deepEqual(await thread.all("SELECT count(*) FROM t", []), [[2]]);
    // The connection is usable after the failure, and the other connection sees the same rows.
    await thread.write([{ sql: "INSERT INTO t (name) VALUES (?)", args: ["c"] }]);
    assert.equal(Number((await client.execute("SELECT count(*) AS n FROM t")).rows[0]?.n), 3);
  });
}

test("SqlThread (worker threads): close finishes the requests sent before it, then refuses more", async (t) => {
  const { file, client } = await fixture(t);
  const thread = openSqlThread({ path: file, busyTimeoutMs: 5_000 });
  const writes = Array.from({ length: 50 }, (_, index) =>
    thread.write([{ sql: "INSERT INTO t (name) VALUES (?)", args: [`name-${index}`] }]),
  );
  const read = thread.all("SELECT count(*) FROM t", []);
  await thread.close();
  await Promise.all(writes);
  assert.equal((await read).length, 1);
  assert.equal(Number((await client.execute("SELECT count(*) AS n FROM t")).rows[0]?.n), 50);
  await assert.rejects(thread.all("SELECT 1", []), /closed/);
});

test("SqlThread (worker threads): a file it cannot open fails its requests with the driver's reason", async (t) => {
  const directory = await mkdtemp(path.join(tmpdir(), "session-bridge-sql-thread-"));
  t.after(() => rm(directory, { recursive: true, force: true }));
  const thread = openSqlThread({ path: path.join(directory, "missing", "folder", "test.db"), busyTimeoutMs: 100 });
  t.after(() => thread.close());
  await assert.rejects(thread.all("SELECT 1", []), /could not start/);
  // Asked again, it tries again (and fails again, for the same reason).
  await assert.rejects(thread.write([{ sql: "SELECT 1", args: [] }]), /could not start/);
});

test("writeStatement fills a statement built once: through the columns' encoders, then as the native driver binds", (t) => {
  const items = sqliteTable("items", {
    id: text("id").primaryKey(),
    at: integer("at", { mode: "timestamp_ms" }),
    data: text("data", { mode: "json" }),
    flag: integer("flag"),
  });
  const client = createClient({ url: ":memory:" });
  t.after(() => client.close());
  const db = drizzle(client);
  const update = writeStatement(
    db
      .update(items)
      .set({ at: sql.placeholder("at") as unknown as Date, data: sql.placeholder("data") })
      .where(and(eq(items.id, sql.placeholder("id")), eq(items.flag, sql.placeholder("flag")))),
  );
  const at = new Date("2026-03-01T10:00:00.000Z");
  const filled = update({ at, data: { a: [1] }, id: "x", flag: true });
  assert.match(
    filled.sql,
    /^update "items" set "at" = \?, "data" = \? where \("items"."id" = \? and "items"."flag" = \?\)$/,
  );
  assert.deepEqual(filled.args, [at.getTime(), '{"a":[1]}', "x", 1]);
  // A placeholder in a condition is bound as it is, but for what the native driver cannot take.
  assert.deepEqual(update({ at, data: null, id: "x", flag: at }).args.slice(2), ["x", at.getTime()]);
  assert.throws(() => update({ at, data: 1, id: "x" }), /No value for placeholder "flag"/);
  assert.throws(() => update({ at, data: 1, id: undefined, flag: 0 }), /argument 3 .* cannot be bound: undefined/);
  assert.throws(() => update({ at, data: 1, id: "x", flag: Number.NaN }), /argument 4 .* cannot be bound: NaN/);
  assert.throws(() => update({ at, data: 1, id: "x", flag: new Date(Number.NaN) }), /argument 4 .* cannot be bound/);
  assert.throws(() => update({ at, data: 1, id: { an: "object" }, flag: 0 }), /argument 3 .* cannot be bound/);
  assert.throws(() => update({ at, data: 1, id: "x", flag: 2n ** 64n }), /argument 4 .* cannot be bound/);
});
