export type { Clock, IdGenerator } from "./ports/clock.ts";
export { systemClock } from "./ports/clock.ts";
export type { RepoCache, RepoCheckout, RepoRequest } from "./ports/repo-cache.ts";
export type {
  ListSessionsOptions,
  Session,
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
