import { cleanTextSchema, clientIdSchema, isCleanIdentifier, sessionIdSchema } from "@session-bridge/shared";
import { z } from "zod";

/**
 * The export file: JSON lines, a header first, then one record a line. See
 * docs/export-import.md. Readers refuse versions newer than theirs; a new
 * optional field does not change the version, a changed meaning does.
 */
export const exportFormat = { name: "session-bridge-export", version: 1 } as const;

/** The resource of `AUTH=none`: it has no user row and no API key. */
export const localResourceId = "local";

// Other stores may write offsets; Session Bridge writes UTC (`toISOString`).
const timestamp = z.iso.datetime({ offset: true }).transform((value) => new Date(value));
// What the columns can hold (see shared/text.ts): checked before anything is written.
const id = clientIdSchema;

export const headerRecord = z.object({
  type: z.literal("header"),
  format: z.literal(exportFormat.name),
  version: z.number().int().min(1),
  exportedAt: timestamp,
});

/** A user: never an API key or its hash. `local` is the `AUTH=none` resource. */
export const userRecord = z.object({
  type: z.literal("user"),
  id,
  name: z.string().trim().min(1).max(200).refine(isCleanIdentifier, "must not contain control characters"),
  createdAt: timestamp.nullable().optional(),
});

export const sessionRecord = z.object({
  type: z.literal("session"),
  id: sessionIdSchema,
  title: cleanTextSchema.pipe(z.string().max(1000)).nullable(),
  createdAt: timestamp,
  lastAccessed: timestamp,
});

/**
 * One AI SDK `UIMessage` (as `GET /api/sessions/:id` returns it) with its
 * session and time. The parts are checked further with the AI SDK's own
 * validation when the file is read.
 */
export const messageRecord = z.looseObject({
  type: z.literal("message"),
  sessionId: sessionIdSchema,
  createdAt: timestamp,
  id,
  role: z.enum(["system", "user", "assistant"]),
  parts: z.array(z.looseObject({ type: z.string() })).min(1),
  metadata: z.unknown().optional(),
});

export const memoryRecord = z
  .object({
    type: z.literal("memory"),
    // A UUID, like memories made here: DELETE /api/memories/:id takes no other.
    id: sessionIdSchema,
    scope: z.enum(["user", "session"]),
    sessionId: sessionIdSchema.nullable(),
    text: cleanTextSchema.pipe(z.string().trim().min(1).max(4000)),
    createdAt: timestamp,
  })
  .refine((memory) => (memory.scope === "session") === (memory.sessionId !== null), {
    message: "sessionId is set exactly for session memories",
    path: ["sessionId"],
  });

export const toolSessionRecord = z.object({
  type: z.literal("tool_session"),
  id,
  sessionId: sessionIdSchema,
  toolName: clientIdSchema,
  toolKey: z.string().max(1000).refine(isCleanIdentifier, "must not contain control characters").nullable(),
  state: z.record(z.string(), z.unknown()),
  stateVersion: z.number().int().min(0),
  createdAt: timestamp,
  lastAccessed: timestamp,
});

const recordSchemas = {
  header: headerRecord,
  user: userRecord,
  session: sessionRecord,
  message: messageRecord,
  memory: memoryRecord,
  tool_session: toolSessionRecord,
} as const;

export type RecordType = keyof typeof recordSchemas;
export type ExportRecord = { [Type in RecordType]: z.output<(typeof recordSchemas)[Type]> }[RecordType];
export type MessageRecord = z.output<typeof messageRecord>;

/**
 * Parses one line of an export file. Throws an `Error` whose message names
 * the field, for the reader to prefix with the line number.
 */
export function parseExportLine(line: string): ExportRecord {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new Error("not valid JSON");
  }
  const type = (value as { type?: unknown } | null)?.type;
  if (typeof type !== "string" || !(type in recordSchemas)) {
    throw new Error(`type must be one of ${Object.keys(recordSchemas).join(", ")}`);
  }
  const parsed = recordSchemas[type as RecordType].safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${type} ${issue?.path.join(".") || "record"}: ${issue?.message ?? "invalid"}`);
  }
  return parsed.data as ExportRecord;
}
