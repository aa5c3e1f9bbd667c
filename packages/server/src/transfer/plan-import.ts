import { ExportFileError } from "./errors.ts";
import { exportFormat } from "./export-format.ts";
import { readExportFile } from "./read-export-file.ts";

/** What a valid export file holds: its user and the ids it will write, with their lines. */
export interface ImportPlan {
  file: string;
  user: { id: string; name: string; createdAt: Date | null };
  sessions: Map<string, { line: number }>;
  memories: Map<string, { line: number; sessionId: string | null }>;
  toolSessions: Map<string, { line: number; sessionId: string }>;
  /** Records in the file, header and user included. */
  records: number;
}

/**
 * Reads the whole file once without writing anything: every line must be a
 * valid record, the header first and the user second, ids unique, and every
 * record of a session after that session's line. Throws
 * {@link ExportFileError} naming the first line that breaks a rule.
 */
export async function planImport(file: string, onLine?: (line: number) => void): Promise<ImportPlan> {
  const plan: Omit<ImportPlan, "user"> & { user?: ImportPlan["user"] } = {
    file,
    sessions: new Map(),
    memories: new Map(),
    toolSessions: new Map(),
    records: 0,
  };
  const messageIds = new Set<string>();
  let lastLine = 0;
  for await (const { line, record } of readExportFile(file)) {
    const fail = (reason: string): never => {
      throw new ExportFileError(file, line, reason);
    };
    const needSession = (sessionId: string) => {
      if (!plan.sessions.has(sessionId)) fail(`session ${sessionId} is not declared on an earlier line`);
    };
    lastLine = line;
    plan.records++;
    if (plan.records === 1 && record.type !== "header") fail(`the first record must be the header, not ${record.type}`);
    if (plan.records === 2 && record.type !== "user") fail(`the second record must be the user, not ${record.type}`);
    if (line % 1000 === 0) onLine?.(line);
    switch (record.type) {
      case "header":
        if (plan.records !== 1) fail("a second header");
        if (record.version > exportFormat.version) {
          fail(
            `written by a newer Session Bridge (format version ${record.version}); this one reads version ${exportFormat.version}`,
          );
        }
        break;
      case "user":
        if (plan.user) fail("a second user: a file holds one user's data");
        plan.user = { id: record.id, name: record.name, createdAt: record.createdAt ?? null };
        break;
      case "session":
        if (plan.sessions.has(record.id)) fail(`session ${record.id} appears twice`);
        plan.sessions.set(record.id, { line });
        break;
      case "message": {
        needSession(record.sessionId);
        const key = `${record.sessionId}/${record.id}`;
        if (messageIds.has(key)) fail(`message ${record.id} appears twice in session ${record.sessionId}`);
        messageIds.add(key);
        break;
      }
      case "memory":
        if (record.sessionId) needSession(record.sessionId);
        if (plan.memories.has(record.id)) fail(`memory ${record.id} appears twice`);
        plan.memories.set(record.id, { line, sessionId: record.sessionId });
        break;
      case "tool_session":
        needSession(record.sessionId);
        if (plan.toolSessions.has(record.id)) fail(`tool session ${record.id} appears twice`);
        plan.toolSessions.set(record.id, { line, sessionId: record.sessionId });
        break;
    }
  }
  if (!plan.user) throw new ExportFileError(file, lastLine + 1, "the file ends before its header and user records");
  return { ...plan, user: plan.user };
}
