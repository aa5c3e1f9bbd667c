import { systemClock } from "@session-bridge/core";
import { v7 as uuidv7 } from "uuid";
import {
  openPostgres,
  openPostgresMemoryStorage,
  openPostgresStorage,
} from "../../packages/server/src/storage/postgres/postgres-storage.ts";
import { freshPostgresDatabase } from "../_backends.ts";
import type { StorageBackend, StorageConnection } from "./backend.ts";

/**
 * PostgreSQL with pgvector: a fresh migrated database per test on the test
 * server (`TEST_POSTGRES_URL`), app and memory in the same database, as the
 * app runs on it by default. Another connection is another pool.
 */
export const postgresBackend: StorageBackend = {
  name: "PostgreSQL",

  async open(t, options = {}) {
    const url = await freshPostgresDatabase(t);
    const clock = options.clock ?? systemClock;
    const closers: (() => Promise<void>)[] = [];
    t.after(async () => {
      for (const close of closers.reverse()) await close();
    });

    const connect = async (): Promise<StorageConnection> => {
      const handle = openPostgres({ url, max: 5 });
      const storage = openPostgresStorage(handle, { clock, generateId: () => uuidv7() });
      const memory = openPostgresMemoryStorage(handle, { url, vectorPoolSize: 2, owned: false });
      closers.push(async () => {
        await memory.close();
        await storage.close();
      });
      return { storage, memory };
    };

    const first = await connect();
    await first.storage.migrate();
    return { ...first, another: connect };
  },
};
