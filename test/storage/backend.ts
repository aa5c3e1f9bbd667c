import type { TestContext } from "node:test";
import type { AppStorage, Clock, MemoryStorage } from "@session-bridge/core";

/** The app's stores and the memory's stores over one connection (client or pool) per database. */
export interface StorageConnection {
  storage: AppStorage;
  memory: MemoryStorage;
}

/** A fresh pair of databases, as a test sees them. */
export interface OpenedStorage extends StorageConnection {
  /** Another connection to the same databases, as a second server process would have. */
  another(): Promise<StorageConnection>;
}

/**
 * What every storage backend gives the behaviour suites in `test/storage/*.suite.ts`:
 * the suites take one of these and run unchanged against each backend.
 */
export interface StorageBackend {
  /** Shown in the suites' names, e.g. `libSQL`. */
  name: string;
  /**
   * A fresh, migrated, empty database (app + memory), closed and removed after
   * the test. `clock` dates what the stores write (default: the system clock);
   * every connection of the test shares it. Ids are UUIDv7s.
   */
  open(t: TestContext, options?: { clock?: Clock }): Promise<OpenedStorage>;
}
