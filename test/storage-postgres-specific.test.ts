import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { encodeContent } from "../packages/server/src/memory/message-codec.ts";
import { migratePostgres, openPostgres, withSchemaLock } from "../packages/server/src/storage/postgres/client.ts";
import { createPostgresMessageStore } from "../packages/server/src/storage/postgres/message-store.ts";
import { preparePostgresMemory } from "../packages/server/src/storage/postgres/postgres-storage.ts";
import { openPostgresVectorStore } from "../packages/server/src/storage/postgres/vector-store.ts";
import { emptyPostgresDatabase, postgresUrl } from "./_backends.ts";
import { at, makeThread, userMessage } from "./storage/_messages.ts";

/** Rejects when `work` has not settled after `ms`: how a test tells a hang from slowness (not a speed check). */
async function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still waiting after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, hung]);
  } finally {
    clearTimeout(timer);
  }
}

/** Closes the pools, first ending every connection to `url`'s database (a hung test leaves queries waiting). */
async function closeAll(url: string, handles: { close(): Promise<void> }[]): Promise<void> {
  const admin = new pg.Client({ connectionString: postgresUrl });
  await admin.connect();
  try {
    await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", [
      new URL(url).pathname.slice(1),
    ]);
  } finally {
    await admin.end();
  }
  await Promise.all(handles.map((handle) => handle.close().catch(() => undefined)));
}

// What only PostgreSQL has: schema changes by several processes at once.
describe("PostgreSQL schema work", { skip: postgresUrl ? false : "no TEST_POSTGRES_URL" }, () => {
  test("a process waiting for the schema lock never blocks the holder's CREATE INDEX CONCURRENTLY", async (t) => {
    const url = await emptyPostgresDatabase();
    const holder = openPostgres({ url, max: 3 });
    const waiter = openPostgres({ url, max: 3 });
    t.after(() => closeAll(url, [holder, waiter]));
    const order: string[] = [];
    let waiting: Promise<void> | undefined;
    const holding = withSchemaLock(holder.pool, async () => {
      waiting = withSchemaLock(waiter.pool, async () => {
        order.push("waiter");
      });
      await sleep(300); // the waiter is asking for the lock by now
      await holder.pool.query("CREATE TABLE schema_lock_probe (x integer)");
      // Waits for every transaction running when it starts: one blocked inside the server would never end.
      await holder.pool.query("CREATE INDEX CONCURRENTLY schema_lock_probe_x ON schema_lock_probe (x)");
      order.push("holder");
    });
    await within(30_000, "the holder's concurrent index", holding);
    await within(30_000, "the waiter", waiting as Promise<void>);
    assert.deepEqual(order, ["holder", "waiter"], "one at a time, in turn");
  });

  test("six processes preparing one empty database at once all succeed, and the schema is made once", async (t) => {
    const url = await emptyPostgresDatabase();
    const handles = Array.from({ length: 6 }, () => openPostgres({ url, max: 3 }));
    t.after(() => closeAll(url, handles));
    const statuses = await within(
      120_000,
      "six concurrent preparations",
      Promise.all(
        handles.map(async (handle) => {
          const status = await migratePostgres(handle);
          await preparePostgresMemory(handle);
          return status;
        }),
      ),
    );
    for (const status of statuses) assert.equal(status.applied, status.available);
    const [handle] = handles;
    const applied = await handle?.pool.query("SELECT count(*)::int AS count FROM drizzle.__drizzle_migrations");
    assert.equal(applied?.rows[0].count, statuses[0]?.available, "each migration recorded once");
    const tables = await handle?.pool.query(
      "SELECT count(*)::int AS count FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'mastra_%'",
    );
    assert.ok((tables?.rows[0].count ?? 0) > 10, "Mastra's tables are there");
  });
  test("a memory database from before message counts and keyword search gets its messages counted and indexed once, when first prepared", async (t) => {
    const url = await emptyPostgresDatabase();
    const handle = openPostgres({ url, max: 3 });
    t.after(() => closeAll(url, [handle]));
    await preparePostgresMemory(handle);
    const messages = createPostgresMessageStore(handle.pool);
    const thread = await makeThread(messages);
    await messages.save(
      [
        thread.stored(userMessage("q", "x about E1234"), at(0)),
        thread.stored(userMessage("a", "y"), at(1)),
        thread.stored(userMessage("running", "z E1234"), at(2), true),
      ],
      { pending: false, now: at(2) },
    );
    // As a database written before the counts and the text index existed.
    await handle.pool.query(`
      DROP TRIGGER session_bridge_message_counts_v1 ON mastra_messages;
      DROP TRIGGER session_bridge_message_counts_v1_thread ON mastra_threads;
      DROP TRIGGER session_bridge_message_text_v1 ON mastra_messages;
      DROP TABLE session_bridge_message_counts;
      DROP TABLE session_bridge_message_text;
    `);
    for (const _prepared of [1, 2]) {
      await preparePostgresMemory(handle);
      assert.deepEqual(await messages.count([thread.sessionId]), new Map([[thread.sessionId, 2]]));
      const hits = await messages.searchText({ resourceId: "alice", terms: ["E1234"], topK: 4, exclude: [] });
      assert.deepEqual(
        hits.map((hit) => hit.key),
        [thread.stored(userMessage("q", ""), at(0)).key],
      );
    }
  });
});

describe("PostgreSQL message counts and text index", { skip: postgresUrl ? false : "no TEST_POSTGRES_URL" }, () => {
  test("counting a database afresh waits for a writer already running, and counts and indexes its message", async (t) => {
    const url = await emptyPostgresDatabase();
    const handle = openPostgres({ url, max: 4 });
    const writer = new pg.Client({ connectionString: url });
    t.after(async () => {
      await writer.end().catch(() => undefined);
      await closeAll(url, [handle]);
    });
    await preparePostgresMemory(handle);
    const messages = createPostgresMessageStore(handle.pool);
    const thread = await makeThread(messages);
    await messages.save([thread.stored(userMessage("q", "x"), at(0))], { pending: false, now: at(0) });
    await handle.pool.query(`
      DROP TRIGGER session_bridge_message_counts_v1 ON mastra_messages;
      DROP TRIGGER session_bridge_message_text_v1 ON mastra_messages;
    `);
    // An older process, in the middle of a save.
    await writer.connect();
    await writer.query("BEGIN");
    await writer.query(
      `INSERT INTO mastra_messages (id, thread_id, content, role, type, "createdAt", "createdAtZ", "resourceId") VALUES ($1, $2, $3, 'user', 'v2', now(), now(), $4)`,
      [`${thread.sessionId}/late`, thread.sessionId, encodeContent(userMessage("late", "about E4242")), "alice"],
    );
    const preparing = preparePostgresMemory(handle);
    await sleep(300);
    await writer.query("COMMIT");
    await within(30_000, "preparing", preparing);
    assert.deepEqual(await messages.count([thread.sessionId]), new Map([[thread.sessionId, 2]]));
    const hits = await messages.searchText({ resourceId: "alice", terms: ["E4242"], topK: 4, exclude: [] });
    assert.deepEqual(
      hits.map((hit) => hit.key),
      [`${thread.sessionId}/late`],
    );
  });

  test("another client's writes to the message table work whatever its search path", async (t) => {
    const url = await emptyPostgresDatabase();
    const handle = openPostgres({ url, max: 3 });
    const other = new pg.Client({ connectionString: url });
    t.after(async () => {
      await other.end().catch(() => undefined);
      await closeAll(url, [handle]);
    });
    await preparePostgresMemory(handle);
    const messages = createPostgresMessageStore(handle.pool);
    const thread = await makeThread(messages);
    await messages.save([thread.stored(userMessage("q", "x"), at(0))], { pending: false, now: at(0) });
    await other.connect();
    await other.query("SET search_path = pg_catalog");
    await other.query("DELETE FROM public.mastra_messages WHERE thread_id = $1", [thread.sessionId]);
    assert.deepEqual(await messages.count([thread.sessionId]), new Map());
  });
});

describe("pgvector outside the public schema", { skip: postgresUrl ? false : "no TEST_POSTGRES_URL" }, () => {
  const cases = [
    {
      where: "installed beforehand in another schema (as Supabase does)",
      setup: "DROP EXTENSION IF EXISTS vector; CREATE SCHEMA extensions; CREATE EXTENSION vector SCHEMA extensions",
    },
    {
      // Mastra's createIndex installs it, into the first schema of the search path: the role's own.
      where: "installed at first start into the role's own schema",
      setup: "DROP EXTENSION IF EXISTS vector; CREATE SCHEMA postgres",
    },
  ];
  for (const { where, setup: setupSql } of cases) {
    test(`vectors are written and searched with pgvector ${where}`, async (t) => {
      const url = await emptyPostgresDatabase();
      const setup = new pg.Client({ connectionString: url });
      await setup.connect();
      await setup.query(setupSql);
      await setup.end();
      const handle = openPostgres({ url, max: 2 });
      const vectors = openPostgresVectorStore({ pool: handle.pool, url, max: 2 });
      t.after(async () => {
        await vectors.close();
        await handle.close();
      });
      const indexName = "memory_messages_test_4";
      await vectors.ensureIndex({ embedderId: "test:four", dimension: 4, indexName });
      const entry = (key: string, vector: number[]) => ({
        id: `${key}#0`,
        vector,
        key,
        sessionId: "session-1",
        resourceId: "alice",
        role: "user" as const,
        createdAt: new Date("2026-01-01T00:00:00.000Z"),
      });
      await vectors.upsert(indexName, [entry("near", [1, 0, 0, 0]), entry("far", [0, 1, 0, 0])]);
      const hits = await vectors.query(indexName, [1, 0.1, 0, 0], { topK: 1, resourceId: "alice" });
      assert.deepEqual(
        hits.map((hit) => hit.key),
        ["near"],
      );
    });
  }
});
