import type { MastraDBMessage } from "@mastra/core/agent/message-list";
import type { App } from "@session-bridge/server";
import { v7 as uuidv7 } from "uuid";

/** The vector table Mastra's own Memory uses for 512-dimensional embedders. */
export const mastraIndexName = "memory_messages_512";

/**
 * Stores `size` messages of one resource, `perSession` per session (or all in
 * `sessionIds` when given), with the same vectors in the bridge's table and in
 * Mastra's, so that both recall over identical data. Returns the session ids.
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
  },
): Promise<string[]> {
  const { resourceId, size, perSession, pool, poolVectors } = options;
  process.stderr.write(`populating ${size.toLocaleString("en-US")} messages…\n`);
  const sessionIds: string[] = [...(options.sessionIds ?? [])];
  const store = await app.memory.storage.getStore("memory");
  if (!store) throw new Error("no memory store");
  await app.memory.vector.createIndex({ indexName: mastraIndexName, dimension: 512 });
  const started = Date.now() - size * 1000;
  const batch = 500;
  for (let offset = 0; offset < size; offset += batch) {
    const messages: MastraDBMessage[] = [];
    for (let index = offset; index < Math.min(size, offset + batch); index++) {
      if (!options.sessionIds && index % perSession === 0) {
        sessionIds.push((await app.sessions.create(resourceId)).id);
      }
      const sessionId = options.sessionIds
        ? (sessionIds[index % sessionIds.length] as string)
        : (sessionIds.at(-1) as string);
      messages.push({
        id: `${sessionId}/${uuidv7()}`,
        role: index % 2 ? "assistant" : "user",
        threadId: sessionId,
        resourceId,
        createdAt: new Date(started + index * 1000),
        content: { format: 2, parts: [{ type: "text", text: pool[index % pool.length] as string }] },
      });
    }
    await store.saveMessages({ messages });
    const vectors = messages.map((_, index) => poolVectors[(offset + index) % poolVectors.length] as number[]);
    const metadata = messages.map((message) => ({
      message_id: message.id,
      thread_id: message.threadId,
      resource_id: resourceId,
      role: message.role,
      created_at: message.createdAt.toISOString(),
    }));
    await app.memory.vector.upsert({
      indexName: app.memory.index.indexName,
      vectors,
      ids: messages.map((message) => `${message.id}#0`),
      metadata,
    });
    // Mastra's own table for its own recall: the same vectors; its metadata also carries the text.
    await app.memory.vector.upsert({
      indexName: mastraIndexName,
      vectors,
      metadata: metadata.map((entry, index) => ({ ...entry, content: pool[(offset + index) % pool.length] })),
    });
    if (offset % 10_000 === 0) process.stderr.write(`  ${offset.toLocaleString("en-US")}\n`);
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
 * (what the user waits for) and to the turn being saved and indexed.
 */
export async function timedTurn(
  app: App,
  resourceId: string,
  sessionId: string,
  text: string,
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
  for await (const chunk of stream) if (chunk.type === "finish") finish = performance.now() - started;
  await app.turns.settled();
  return { finish, total: performance.now() - started };
}
