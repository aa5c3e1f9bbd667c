import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import type { ChatMessage } from "@session-bridge/shared";
import { safeValidateUIMessages } from "ai";
import { ExportFileError } from "./errors.ts";
import { type ExportRecord, type MessageRecord, parseExportLine } from "./export-format.ts";

/** A record and the line it came from (1-based, as editors count). */
export interface NumberedRecord {
  line: number;
  record: ExportRecord;
}

/**
 * Reads an export file line by line, validating each record: its JSON, its
 * shape (zod), and for messages the AI SDK's own `UIMessage` validation and
 * the rule that file parts are `data:` URLs (as for chat: the server never
 * fetches a URL it was given). Blank lines are skipped. Throws
 * {@link ExportFileError} naming the line.
 */
export async function* readExportFile(file: string): AsyncGenerator<NumberedRecord> {
  const lines = createInterface({
    input: createReadStream(file, { encoding: "utf8" }),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  let line = 0;
  for await (const text of lines) {
    line++;
    if (text.trim() === "") continue;
    let record: ExportRecord;
    try {
      record = parseExportLine(text);
      if (record.type === "message") await checkMessage(record);
    } catch (error) {
      throw new ExportFileError(file, line, (error as Error).message, { cause: error });
    }
    yield { line, record };
  }
}

/** The `UIMessage` a message record carries, without the record's own fields. */
export function uiMessageOf(record: MessageRecord): ChatMessage {
  const message = { id: record.id, role: record.role, parts: record.parts };
  return (record.metadata === undefined ? message : { ...message, metadata: record.metadata }) as ChatMessage;
}

async function checkMessage(record: MessageRecord): Promise<void> {
  const validated = await safeValidateUIMessages({ messages: [uiMessageOf(record)] });
  if (!validated.success) throw new Error(`message: ${validated.error.message.split("\n")[0]}`);
  for (const part of record.parts) {
    if (part.type === "file" && !String((part as { url?: unknown }).url).startsWith("data:")) {
      throw new Error("message: file parts must be data: URLs (the server never fetches a URL)");
    }
  }
}
