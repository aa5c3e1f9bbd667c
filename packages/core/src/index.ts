export type { TurnContext } from "./memory/turn-context.ts";
export { buildTurnContext, excerpt, messageText } from "./memory/turn-context.ts";
export type { Clock, IdGenerator } from "./ports/clock.ts";
export { systemClock } from "./ports/clock.ts";
export type {
  ConversationMemory,
  IndexPendingOptions,
  RecalledMessage,
  RecallRequest,
  RecallResult,
  RecallScope,
  SaveMessagesRequest,
} from "./ports/conversation-memory.ts";
export type { ListMemoriesOptions, Memory, MemoryScope, MemoryStore, NewMemory } from "./ports/memory-store.ts";
export type { ListMessagesOptions, MessageStore, PendingMessage, StoredMessage } from "./ports/message-store.ts";
export type { RepoCache, RepoCheckout, RepoRequest } from "./ports/repo-cache.ts";
export type {
  ListSessionsOptions,
  Session,
  SessionCreationHook,
  SessionDeletionHook,
  SessionPage,
  SessionStore,
} from "./ports/session-store.ts";
export type {
  ToolSession,
  ToolSessionStore,
  ToolState,
  WriteToolStateOptions,
} from "./ports/tool-session-store.ts";
export { runTurn, traceRecalled, turnActors, turnMachine } from "./turn/turn-machine.ts";
export type {
  GenerateInput,
  GenerateOutput,
  SaveTurnInput,
  TokenUsage,
  TraceRecalled,
  TraceToolCall,
  TurnEffects,
  TurnError,
  TurnInput,
  TurnOutput,
  TurnState,
  TurnStatus,
  TurnTrace,
} from "./turn/turn-types.ts";
