import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { App } from "../app.ts";
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

type ImportingApp = Pick<App, "storage" | "memory">;

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
  const { storage } = app;
  const userId = plan.user.id;
  const report: ImportReport = {
    userId,
    userName: plan.user.name,
    userCreated: false,
    imported: { sessions: 0, messages: 0, memories: 0, toolSessions: 0 },
    kept: { sessions: existingSessions.size, messages: 0, memories: 0, toolSessions: 0 },
    embedded: 0,
  };
  if (userId !== localResourceId && !(await storage.users.get(userId))) {
    // The user keeps its id, so its sessions stay its own.
    const { apiKey } = await storage.users.create(plan.user.name, {
      id: userId,
      ...(plan.user.createdAt ? { createdAt: plan.user.createdAt } : {}),
    });
    Object.assign(report, { userCreated: true, apiKey });
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
        await storage.sessions.restore(session);
        report.imported.sessions++;
        break;
      }
      case "message":
        batch.push(record);
        if (batch.length >= messageBatchSize) await saveBatch();
        break;
      case "memory": {
        const { type: _type, ...memory } = record;
        const written = await storage.memories.restore({ ...memory, resourceId: userId });
        report[written ? "imported" : "kept"].memories++;
        break;
      }
      case "tool_session": {
        const { type: _type, ...toolSession } = record;
        const written = await storage.toolSessions.restore(toolSession);
        report[written ? "imported" : "kept"].toolSessions++;
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
  const { storage } = app;
  const existing = new Set<string>();
  for (const ids of chunks([...plan.sessions.keys()])) {
    for (const [id, owner] of await storage.sessions.ownersOf(ids)) {
      if (owner !== plan.user.id) throw new ImportConflictError("session", id, lineOf(plan.sessions, id));
      existing.add(id);
    }
  }
  for (const ids of chunks([...plan.memories.keys()])) {
    for (const memory of await storage.memories.getMany(ids)) {
      const wanted = plan.memories.get(memory.id);
      if (memory.resourceId !== plan.user.id || memory.sessionId !== wanted?.sessionId) {
        throw new ImportConflictError("memory", memory.id, wanted?.line ?? 0);
      }
    }
  }
  for (const ids of chunks([...plan.toolSessions.keys()])) {
    for (const [id, sessionId] of await storage.toolSessions.sessionsOf(ids)) {
      const wanted = plan.toolSessions.get(id);
      if (sessionId !== wanted?.sessionId) throw new ImportConflictError("tool_session", id, wanted?.line ?? 0);
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
