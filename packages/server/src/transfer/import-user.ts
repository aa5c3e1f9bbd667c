import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import { systemClock } from "@session-bridge/core";
import { inArray } from "drizzle-orm";
import type { App } from "../app.ts";
import { memories, sessions, toolSessions } from "../db/schema.ts";
import { createUserStore } from "../storage/users.ts";
import { ImportConflictError } from "./errors.ts";
import { localResourceId, type MessageRecord } from "./export-format.ts";
import type { ImportPlan } from "./plan-import.ts";
import { readExportFile, uiMessageOf } from "./read-export-file.ts";

export interface ImportCounts {
  sessions: number;
  messages: number;
  memories: number;
  toolSessions: number;
}

export interface ImportReport {
  userId: string;
  userName: string;
  /** True when the user did not exist here; `apiKey` is then its new key, shown this once. */
  userCreated: boolean;
  apiKey?: string;
  /** Records written by this run. */
  imported: ImportCounts;
  /** Records that already existed here and were left as they are. */
  kept: ImportCounts;
  /** Messages embedded for semantic recall. */
  embedded: number;
}

export type ImportProgress =
  | { phase: "writing"; done: number; total: number }
  | { phase: "embedding"; done: number; total: number };

type ImportingApp = Pick<App, "database" | "memoryDatabase" | "memory">;

const messageBatchSize = 100;

/**
 * Imports an export file that {@link planImport} has read and validated (see
 * docs/export-import.md). Every id is checked against this machine before
 * anything is written: a record owned by another user stops the import with
 * nothing written. Records that already exist are kept as they are, so importing the
 * same file again changes nothing. Messages are recorded as pending vectors
 * before they are saved and embedded afterwards, as a turn's answer is: a
 * crash leaves work that the next server start (or import) finishes.
 *
 * @example
 * const report = await importUser(app, await planImport("alice.jsonl"));
 */
export async function importUser(
  app: ImportingApp,
  plan: ImportPlan,
  options: { onProgress?: (progress: ImportProgress) => void } = {},
): Promise<ImportReport> {
  const existingSessions = await checkOwnership(app, plan);
  const { db } = app.database;
  const userId = plan.user.id;
  const report: ImportReport = {
    userId,
    userName: plan.user.name,
    userCreated: false,
    imported: { sessions: 0, messages: 0, memories: 0, toolSessions: 0 },
    kept: { sessions: existingSessions.size, messages: 0, memories: 0, toolSessions: 0 },
    embedded: 0,
  };
  if (userId !== localResourceId) {
    const userStore = createUserStore({
      db,
      clock: plan.user.createdAt ? { now: () => plan.user.createdAt as Date } : systemClock,
      // The user keeps its id, so its sessions stay its own.
      generateId: () => userId,
    });
    if (!(await userStore.list()).some((user) => user.id === userId)) {
      const { apiKey } = await userStore.create(plan.user.name);
      Object.assign(report, { userCreated: true, apiKey });
    }
  }

  let batch: MessageRecord[] = [];
  const saveBatch = async () => {
    const [first] = batch;
    if (!first) return;
    const written = await app.memory.importMessages(
      first.sessionId,
      userId,
      batch.map((record) => ({ message: uiMessageOf(record), createdAt: record.createdAt })),
    );
    report.imported.messages += written;
    report.kept.messages += batch.length - written;
    batch = [];
  };

  let done = 0;
  for await (const { record } of readExportFile(plan.file)) {
    if (record.type !== "message" || record.sessionId !== batch[0]?.sessionId) await saveBatch();
    switch (record.type) {
      case "session": {
        if (existingSessions.has(record.id)) break;
        const { type: _type, ...fields } = record;
        const session = { ...fields, resourceId: userId };
        // The thread first: a crash in between leaves a thread without a session, never the reverse.
        await app.memory.createThread(session);
        await db.insert(sessions).values(session).onConflictDoNothing();
        report.imported.sessions++;
        break;
      }
      case "message":
        batch.push(record);
        if (batch.length >= messageBatchSize) await saveBatch();
        break;
      case "memory": {
        const { type: _type, ...memory } = record;
        const result = await db
          .insert(memories)
          .values({ ...memory, resourceId: userId })
          .onConflictDoNothing();
        report[result.rowsAffected > 0 ? "imported" : "kept"].memories++;
        break;
      }
      case "tool_session": {
        const { type: _type, id, ...toolSession } = record;
        const result = await db
          .insert(toolSessions)
          .values({ ...toolSession, toolSessionId: id })
          .onConflictDoNothing();
        report[result.rowsAffected > 0 ? "imported" : "kept"].toolSessions++;
        break;
      }
      default:
        break;
    }
    done++;
    if (done % 100 === 0) {
      options.onProgress?.({ phase: "writing", done, total: plan.records });
      // Local libSQL calls do not yield: let signals and progress through.
      await yieldToEventLoop();
    }
  }
  await saveBatch();
  options.onProgress?.({ phase: "writing", done, total: plan.records });

  report.embedded = await app.memory.indexPending({
    resourceId: userId,
    onProgress: (progress) => options.onProgress?.({ phase: "embedding", ...progress }),
  });
  return report;
}

/**
 * Refuses a file whose sessions, memories or tool sessions exist here under
 * another owner. Returns the file's sessions that already exist for its user.
 */
async function checkOwnership(app: ImportingApp, plan: ImportPlan): Promise<Set<string>> {
  const { db } = app.database;
  const existing = new Set<string>();
  for (const ids of chunks([...plan.sessions.keys()])) {
    const rows = await db
      .select({ id: sessions.id, resourceId: sessions.resourceId })
      .from(sessions)
      .where(inArray(sessions.id, ids));
    for (const row of rows) {
      if (row.resourceId !== plan.user.id)
        throw new ImportConflictError("session", row.id, lineOf(plan.sessions, row.id));
      existing.add(row.id);
    }
  }
  for (const ids of chunks([...plan.memories.keys()])) {
    const rows = await db
      .select({ id: memories.id, resourceId: memories.resourceId, sessionId: memories.sessionId })
      .from(memories)
      .where(inArray(memories.id, ids));
    for (const row of rows) {
      const wanted = plan.memories.get(row.id);
      if (row.resourceId !== plan.user.id || row.sessionId !== wanted?.sessionId) {
        throw new ImportConflictError("memory", row.id, wanted?.line ?? 0);
      }
    }
  }
  for (const ids of chunks([...plan.toolSessions.keys()])) {
    const rows = await db
      .select({ id: toolSessions.toolSessionId, sessionId: toolSessions.sessionId })
      .from(toolSessions)
      .where(inArray(toolSessions.toolSessionId, ids));
    for (const row of rows) {
      const wanted = plan.toolSessions.get(row.id);
      if (row.sessionId !== wanted?.sessionId) throw new ImportConflictError("tool_session", row.id, wanted?.line ?? 0);
    }
  }
  return existing;
}

function lineOf(records: Map<string, { line: number }>, id: string): number {
  return records.get(id)?.line ?? 0;
}

function* chunks<T>(items: T[], size = 500): Generator<T[]> {
  for (let start = 0; start < items.length; start += size) yield items.slice(start, start + size);
}
