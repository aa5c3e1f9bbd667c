import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { systemClock } from "@session-bridge/core";
import { v7 as uuidv7 } from "uuid";
import { openLibsqlMemoryStorage, openLibsqlStorage } from "../../packages/server/src/storage/libsql/libsql-storage.ts";
import type { StorageBackend, StorageConnection } from "./backend.ts";

/**
 * Embedded libSQL: two files in a temp folder, the app's and the memory's, as
 * the app uses by default. Another connection is another client on the same files.
 */
export const libsqlBackend: StorageBackend = libsqlBackendWith("libSQL", {});

/** {@link libsqlBackend} with a running turn's writes through the client, on the calling thread (no worker thread). */
export const libsqlClientWritesBackend: StorageBackend = libsqlBackendWith("libSQL, turn writes through the client", {
  turnWriterThread: false,
});

/** {@link libsqlBackend} with users' vectors held in memory for searches (as a server holds them, `RECALL_CACHE_MB`). */
export const libsqlRecallCacheBackend: StorageBackend = libsqlBackendWith(
  "libSQL, vectors held in memory",
  {},
  { recallCacheBytes: 1024 * 1024 },
);

function libsqlBackendWith(
  name: string,
  storageOptions: { turnWriterThread?: boolean },
  memoryOptions: { recallCacheBytes?: number } = {},
): StorageBackend {
  return {
    name,

    async open(t, options = {}) {
      const directory = await mkdtemp(path.join(tmpdir(), "session-bridge-storage-"));
      const clock = options.clock ?? systemClock;
      const closers: (() => Promise<void>)[] = [];
      // One hook, so every connection is closed before the folder goes.
      t.after(async () => {
        for (const close of closers.reverse()) await close();
        await rm(directory, { recursive: true, force: true });
      });

      const connect = async (): Promise<StorageConnection> => {
        const storage = await openLibsqlStorage({
          url: `file:${path.join(directory, "app.db")}`,
          clock,
          generateId: () => uuidv7(),
          ...storageOptions,
        });
        closers.push(() => storage.close());
        const memory = await openLibsqlMemoryStorage({
          url: `file:${path.join(directory, "memory.db")}`,
          ...memoryOptions,
        });
        closers.push(() => memory.close());
        return { storage, memory };
      };

      const first = await connect();
      await first.storage.migrate();
      return { ...first, another: connect };
    },
  };
}
