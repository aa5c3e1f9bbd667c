import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import { type Memory, type Session, sessionPageSize } from "@session-bridge/core";
import type { App } from "../app.ts";
import { UnknownUserError } from "./errors.ts";
import { exportFormat, localResourceId } from "./export-format.ts";

export interface ExportReport {
  userId: string;
  sessions: number;
  messages: number;
  memories: number;
  toolSessions: number;
}

export interface ExportOptions {
  /** Receives each line (with its newline); awaited, so a slow file or pipe holds the export back. */
  write(line: string): Promise<void>;
  onProgress?: (progress: { sessions: number; total: number }) => void;
}

type ExportingApp = Pick<App, "clock" | "users" | "sessions" | "memory" | "memories" | "toolSessions">;

/**
 * Writes one user's sessions, messages (as `UIMessage`s with their time, in
 * conversation order), memories and tool sessions as JSON lines in the format
 * of {@link exportFormat}. Never writes an API key or its hash.
 *
 * @example
 * await exportUser(app, userId, { write: async (line) => void stream.write(line) });
 */
export async function exportUser(app: ExportingApp, userId: string, options: ExportOptions): Promise<ExportReport> {
  const user =
    userId === localResourceId
      ? { id: localResourceId, name: localResourceId, createdAt: null }
      : await app.users.get(userId);
  if (!user) throw new UnknownUserError(userId);
  const report: ExportReport = { userId, sessions: 0, messages: 0, memories: 0, toolSessions: 0 };
  const writeRecord = (record: Record<string, unknown>) => options.write(`${JSON.stringify(record)}\n`);
  const total = await app.sessions.count(userId);

  await writeRecord({
    type: "header",
    format: exportFormat.name,
    version: exportFormat.version,
    exportedAt: app.clock.now(),
  });
  await writeRecord({ type: "user", id: user.id, name: user.name, createdAt: user.createdAt });
  const memories = await app.memories.list(userId);
  for (const memory of memories.filter((candidate) => candidate.sessionId === null)) {
    await writeRecord(memoryLine(memory));
    report.memories++;
  }

  // Paged by creation, which never moves: a session used during the export is neither skipped nor repeated.
  let after: Session | null = null;
  for (;;) {
    const page = await app.sessions.listByCreation(userId, { after, limit: sessionPageSize.max });
    for (const session of page) {
      await writeRecord(sessionLine(session));
      const messages = await app.memory.listTimedMessages(session.id, userId);
      for (const { message, createdAt } of messages) {
        await writeRecord({ type: "message", sessionId: session.id, createdAt, ...message });
      }
      report.messages += messages.length;
      for (const memory of memories.filter((candidate) => candidate.sessionId === session.id)) {
        await writeRecord(memoryLine(memory));
        report.memories++;
      }
      for (const toolSession of await app.toolSessions.listForSession(session.id)) {
        await writeRecord({
          type: "tool_session",
          id: toolSession.id,
          sessionId: toolSession.sessionId,
          toolName: toolSession.toolName,
          toolKey: toolSession.toolKey,
          state: toolSession.state,
          stateVersion: toolSession.stateVersion,
          createdAt: toolSession.createdAt,
          lastAccessed: toolSession.lastAccessed,
        });
        report.toolSessions++;
      }
      report.sessions++;
      options.onProgress?.({ sessions: report.sessions, total });
      // Local libSQL calls do not yield: let signals and the output stream run.
      await yieldToEventLoop();
    }
    after = page.at(-1) ?? null;
    if (page.length < sessionPageSize.max) break;
  }
  return report;
}

function sessionLine(session: Session) {
  return {
    type: "session",
    id: session.id,
    title: session.title,
    createdAt: session.createdAt,
    lastAccessed: session.lastAccessed,
  };
}

function memoryLine(memory: Memory) {
  return {
    type: "memory",
    id: memory.id,
    scope: memory.scope,
    sessionId: memory.sessionId,
    text: memory.text,
    createdAt: memory.createdAt,
  };
}
