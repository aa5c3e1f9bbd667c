/** What a caller (e.g. the `search_docs` tool) asks for; hostile until checked. */
export interface RepoRequest {
  /** `https://…`; `file://…` or an absolute path only when local repositories are allowed. */
  url: string;
  /** Branch or tag; the remote's default branch when absent. */
  ref?: string | null;
  /** Folder inside the checkout to search; the whole checkout when absent. */
  searchPath?: string | null;
}

export interface RepoCheckout {
  /** Stable key of (url, ref, searchPath); tool sessions key on it. */
  resourceKey: string;
  url: string;
  ref: string | null;
  searchPath: string | null;
  /** The checkout's directory. */
  localPath: string;
  /** `localPath` joined with `searchPath`, checked to stay inside the checkout. */
  searchRoot: string;
  /** The commit checked out. */
  commit: string;
  clonedAt: Date;
  lastUpdated: Date;
}

export interface RepoCache {
  ensureRepo(request: RepoRequest): Promise<RepoCheckout>;
}

/** A cached checkout as its row records it. */
export interface RepoCacheEntry {
  resourceKey: string;
  url: string;
  ref: string | null;
  searchPath: string | null;
  localPath: string;
  commit: string;
  clonedAt: Date;
  lastUpdated: Date;
  lastAccessed: Date;
}

/** The repository cache's rows; the checkouts themselves are folders the cache manages. */
export interface RepoCacheRows {
  get(resourceKey: string): Promise<RepoCacheEntry | undefined>;
  /** Inserts or replaces the row of `entry.resourceKey`. */
  put(entry: RepoCacheEntry): Promise<void>;
  /** Updates the given fields of an existing row. */
  update(
    resourceKey: string,
    fields: Partial<Pick<RepoCacheEntry, "commit" | "lastUpdated" | "lastAccessed">>,
  ): Promise<void>;
  /** Deletes the row; returns it, or `undefined` when there was none. */
  delete(resourceKey: string): Promise<RepoCacheEntry | undefined>;
  list(): Promise<RepoCacheEntry[]>;
  /** Rows not used since `before`, oldest first. */
  findIdle(before: Date): Promise<RepoCacheEntry[]>;
}
