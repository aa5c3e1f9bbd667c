import type { RepoCacheRows } from "@session-bridge/core";
import { eq, lt } from "drizzle-orm";
import type { PgDatabase } from "./client.ts";
import { repoCache } from "./schema.ts";

/** The {@link RepoCacheRows} on PostgreSQL: the `repo_cache` table. */
export function createPostgresRepoCacheRows(db: PgDatabase): RepoCacheRows {
  return {
    async get(resourceKey) {
      const [row] = await db.select().from(repoCache).where(eq(repoCache.resourceKey, resourceKey));
      return row;
    },
    async put(entry) {
      await db.insert(repoCache).values(entry).onConflictDoUpdate({ target: repoCache.resourceKey, set: entry });
    },
    async update(resourceKey, fields) {
      await db.update(repoCache).set(fields).where(eq(repoCache.resourceKey, resourceKey));
    },
    async delete(resourceKey) {
      const [row] = await db.delete(repoCache).where(eq(repoCache.resourceKey, resourceKey)).returning();
      return row;
    },
    list: () => db.select().from(repoCache),
    findIdle: (before) =>
      db.select().from(repoCache).where(lt(repoCache.lastAccessed, before)).orderBy(repoCache.lastAccessed),
  };
}
