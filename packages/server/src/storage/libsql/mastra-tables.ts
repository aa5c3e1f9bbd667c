// Mastra's tables (created by its LibSQLStore): the bridge reads and writes their
// rows itself, so that a message is stored exactly and in one transaction.
export const messagesTable = "mastra_messages";
export const threadsTable = "mastra_threads";

/** `?, ?, …`, one per value. */
export const placeholders = (values: unknown[]) => values.map(() => "?").join(", ");
