// Mastra's tables (created by its LibSQLStore or PostgresStore, same names on both): the
// bridge reads and writes their rows itself, so that a message is stored exactly and at once.
export const messagesTable = "mastra_messages";
export const threadsTable = "mastra_threads";
