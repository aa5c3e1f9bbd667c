/** Where a standing instruction applies. */
export type MemoryScope = "user" | "session";

/**
 * A standing instruction the model sees on every turn: a user memory ("always
 * call me Chris") in every session of its user, a session memory ("no commits
 * during this task") in one session.
 */
export interface Memory {
  id: string;
  resourceId: string;
  scope: MemoryScope;
  /** Set for session memories, `null` for user memories. */
  sessionId: string | null;
  text: string;
  createdAt: Date;
}

/** The longest a memory's text may be, in characters, after trimming. */
export const maxMemoryLength = 4000;

export interface NewMemory {
  scope: MemoryScope;
  /** Required for session memories; must be one of the resource's sessions. */
  sessionId?: string | null;
  text: string;
}

export interface ListMemoriesOptions {
  scope?: MemoryScope;
  sessionId?: string;
}

/** Memories, always seen through the resource that owns them. */
export interface MemoryStore {
  add(resourceId: string, memory: NewMemory): Promise<Memory>;
  list(resourceId: string, options?: ListMemoriesOptions): Promise<Memory[]>;
  /** The user's memories plus this session's, oldest first: what a turn puts in context. */
  forSession(resourceId: string, sessionId: string): Promise<Memory[]>;
  /** False when the memory is not the resource's. */
  delete(resourceId: string, memoryId: string): Promise<boolean>;
  /** Import: writes the memory as it is unless its id exists; false when it did. */
  restore(memory: Memory): Promise<boolean>;
  /** Import's ownership check: these ids that exist, of any resource. */
  getMany(memoryIds: string[]): Promise<Memory[]>;
}
