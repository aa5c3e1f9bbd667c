import type { StoredMessage } from "@session-bridge/core";
import type { App } from "@session-bridge/server";
import { v7 as uuidv7 } from "uuid";
import { annIndex, buildAnnIndex, vectorTable } from "../packages/server/src/storage/libsql/vector-store.ts";
import { mastraIndexName, mastraPeer } from "./mastra-peer.ts";

/**
 * Stores `size` messages of one resource, `perSession` per session (or all in
 * `sessionIds` when given), with the same vectors in the bridge's table and in
 * Mastra's, so that both recall over identical data. Mastra's table gets the
 * index Mastra makes (libSQL's default settings) unless `mastraIndexSettings`
 * names others. Returns the session ids.
 */
export async function populateMessages(
  app: App,
  options: {
    resourceId: string;
    size: number;
    perSession: number;
    pool: string[];
    poolVectors: number[][];
    sessionIds?: string[];
    /** DiskANN settings for Mastra's table, made before Mastra's `createIndex` (which keeps an index that exists). */
    mastraIndexSettings?: string[];
    /**
     * Both tables' ANN indexes left out while the vectors are written and built
     * once at the end (a quarter of the time at 100,000). Otherwise each insert
     * updates them, as a server's turns do.
     */
    bulk?: boolean;
  },
): Promise<string[]> {
  const { resourceId, size, perSession, pool, poolVectors } = options;
  process.stderr.write(`populating ${size.toLocaleString("en-US")} messages…\n`);
  const sessionIds: string[] = [...(options.sessionIds ?? [])];
  const { vector } = await mastraPeer(app);
  const client = app.memoryDatabase?.client;
  if (!client) throw new Error("populateMessages seeds a libSQL memory database");
  const settings = options.mastraIndexSettings ?? [];
  if (options.bulk) {
    // The bridge's index is built at the end by the step that ends a reindex (`session-bridge
    // reindex`). Mastra's table is made as its LibSQLVector makes it.
    await client.batch(
      [
        `DROP INDEX IF EXISTS ${app.memory.index.indexName}_vector_idx`,
        vectorTable(mastraIndexName, 512),
        `DROP INDEX IF EXISTS ${mastraIndexName}_vector_idx`,
      ],
      "write",
    );
  } else {
    // Mastra's own table, as its LibSQLVector makes it, with the index settings asked for.
    await client.batch([vectorTable(mastraIndexName, 512), annIndex(mastraIndexName, settings)], "write");
    await vector.createIndex({ indexName: mastraIndexName, dimension: 512 });
  }
  const started = Date.now() - size * 1000;
  const batch = 500;
  for (let offset = 0; offset < size; offset += batch) {
    const messages: StoredMessage[] = [];
    for (let index = offset; index < Math.min(size, offset + batch); index++) {
      if (!options.sessionIds && index % perSession === 0) {
        sessionIds.push((await app.sessions.create(resourceId)).id);
      }
      const sessionId = options.sessionIds
        ? (sessionIds[index % sessionIds.length] as string)
        : (sessionIds.at(-1) as string);
      const id = uuidv7();
      messages.push({
        key: `${sessionId}/${id}`,
        sessionId,
        resourceId,
        createdAt: new Date(started + index * 1000),
        message: {
          id,
          role: index % 2 ? "assistant" : "user",
          parts: [{ type: "text", text: pool[index % pool.length] as string }],
        },
      });
    }
    const now = new Date();
    for (const sessionId of new Set(messages.map((stored) => stored.sessionId))) {
      const ofSession = messages.filter((stored) => stored.sessionId === sessionId);
      await app.memoryStorage.messages.save(ofSession, { pending: false, now });
    }
    const vectors = messages.map((_, index) => poolVectors[(offset + index) % poolVectors.length] as number[]);
    await app.memoryStorage.vectors.upsert(
      app.memory.index.indexName,
      messages.map((stored, index) => ({
        id: `${stored.key}#0`,
        vector: vectors[index] as number[],
        key: stored.key,
        sessionId: stored.sessionId,
        resourceId,
        role: stored.message.role,
        createdAt: stored.createdAt,
      })),
    );
    const metadata = messages.map((stored) => ({
      message_id: stored.key,
      thread_id: stored.sessionId,
      resource_id: resourceId,
      role: stored.message.role,
      created_at: stored.createdAt.toISOString(),
    }));
    // Mastra's own table for its own recall: the same vectors; its metadata also carries the text.
    await vector.upsert({
      indexName: mastraIndexName,
      vectors,
      metadata: metadata.map((entry, index) => ({ ...entry, content: pool[(offset + index) % pool.length] })),
    });
    if (offset % 10_000 === 0) process.stderr.write(`  ${offset.toLocaleString("en-US")}\n`);
  }
  if (options.bulk) {
    process.stderr.write("building the vector indexes…\n");
    await app.memoryStorage.vectors.ensureIndex(app.memory.index, { rebuild: "end" });
    // Mastra's with the settings asked for (libSQL's defaults, as its createIndex makes it, when
    // none); its createIndex then keeps the index that exists.
    await buildAnnIndex(client, mastraIndexName, settings);
    await vector.createIndex({ indexName: mastraIndexName, dimension: 512 });
  }
  return sessionIds;
}

/** Distinct, sentence-like texts from a seeded generator. */
export function makeTexts(count: number, seed: number): string[] {
  const subjects = [
    "The deploy pipeline",
    "Our billing service",
    "My sister",
    "The design review",
    "The API gateway",
    "The mobile app",
    "Our cat",
    "The quarterly report",
    "The test suite",
    "The hiking trip",
    "The database migration",
    "The marketing site",
  ];
  const verbs = [
    "needs",
    "broke because of",
    "depends on",
    "was moved to",
    "should include",
    "will switch to",
    "keeps failing on",
    "was rescheduled for",
    "is blocked by",
    "now supports",
  ];
  const objects = [
    "a new cache layer",
    "the Friday release",
    "a faster CI runner",
    "the staging cluster",
    "an updated logo",
    "the holiday schedule",
    "a cheaper cloud region",
    "the legacy auth flow",
    "weekly backups",
    "a dark mode toggle",
    "the onboarding guide",
    "a second reviewer",
  ];
  const details = [
    "before the end of the month",
    "according to Priya",
    "after the outage last week",
    "as discussed on Monday",
    "unless costs go up",
    "for the European customers",
    "with a feature flag",
    "in version 3.2",
    "next sprint",
    "once legal signs off",
  ];
  let state = seed * 2654435761;
  const random = (length: number) => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state % length;
  };
  const texts = new Set<string>();
  while (texts.size < count) {
    texts.add(
      `${subjects[random(subjects.length)]} ${verbs[random(verbs.length)]} ${objects[random(objects.length)]} ${details[random(details.length)]} (#${texts.size}).`,
    );
  }
  return [...texts];
}

/**
 * Runs one turn through the app and times it: to the stream's `finish` chunk
 * (what the user waits for; `onFinish` runs then) and to the turn being saved
 * and indexed.
 */
export async function timedTurn(
  app: App,
  resourceId: string,
  sessionId: string,
  text: string,
  onFinish?: () => void,
): Promise<{ finish: number; total: number }> {
  const started = performance.now();
  const { stream } = await app.turns.start(
    {
      chatId: undefined,
      sessionId,
      trigger: "submit-message",
      userMessage: { id: uuidv7(), role: "user", parts: [{ type: "text", text }] },
    },
    resourceId,
  );
  let finish = Number.NaN;
  for await (const chunk of stream) {
    if (chunk.type !== "finish") continue;
    finish = performance.now() - started;
    onFinish?.();
  }
  await app.turns.settled();
  return { finish, total: performance.now() - started };
}
