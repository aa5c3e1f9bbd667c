export { keywordTerms, maxKeywordTerms, termTokens } from "./memory/keyword-terms.ts";
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
export type { MaintenanceLocks } from "./ports/maintenance-locks.ts";
export type { ListMemoriesOptions, Memory, MemoryScope, MemoryStore, NewMemory } from "./ports/memory-store.ts";
export { maxMemoryLength } from "./ports/memory-store.ts";
export type {
  KeywordHit,
  KeywordSearchRequest,
  ListMessagesOptions,
  MessageStore,
  PendingMessage,
  RecallExclusions,
  RecallWindow,
  RecallWindowRequest,
  StoredMessage,
} from "./ports/message-store.ts";
export type { RepoCache, RepoCacheEntry, RepoCacheRows, RepoCheckout, RepoRequest } from "./ports/repo-cache.ts";
export type {
  LeaseGrant,
  ListSessionsOptions,
  NewLease,
  Session,
  SessionPage,
  SessionStore,
} from "./ports/session-store.ts";
export { sessionPageSize } from "./ports/session-store.ts";
export type { AppStorage, MemoryStorage, MigrationStatus } from "./ports/storage.ts";
export type {
  ToolSession,
  ToolSessionStore,
  ToolState,
  WriteToolStateOptions,
} from "./ports/tool-session-store.ts";
export type { TraceStore } from "./ports/trace-store.ts";
export type { NewTurn, TurnEnding, TurnLog, TurnRecord } from "./ports/turn-log.ts";
export { type UsageDay, type UsageRecord, type UsageStore, usageDayOf } from "./ports/usage-store.ts";
export type { User, UserStore } from "./ports/user-store.ts";
export type {
  MessageVector,
  VectorHit,
  VectorIndexInfo,
  VectorMetaKey,
  VectorStore,
} from "./ports/vector-store.ts";
export type { TurnActor } from "./turn/run-turn.ts";
export { runTurn } from "./turn/run-turn.ts";
export { turnActors } from "./turn/turn-actors.ts";
export { failedTrace, traceRecalled, turnMachine } from "./turn/turn-machine.ts";
export type {
  GenerateInput,
  GenerateOutput,
  ResolvedSession,
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
