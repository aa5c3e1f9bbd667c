import type { Clock, MaintenanceLocks } from "@session-bridge/core";
import { and, eq, lt } from "drizzle-orm";
import type { PgDatabase } from "./client.ts";
import { maintenanceLocks } from "./schema.ts";

/** The {@link MaintenanceLocks} on PostgreSQL: a row per lock, taken by a conditional upsert. */
export function createPostgresMaintenanceLocks({ db, clock }: { db: PgDatabase; clock: Clock }): MaintenanceLocks {
  return {
    async tryAcquire(name, holder, ttlMs) {
      const now = clock.now().getTime();
      const rows = await db
        .insert(maintenanceLocks)
        .values({ name, holder, until: now + ttlMs })
        .onConflictDoUpdate({
          target: maintenanceLocks.name,
          set: { holder, until: now + ttlMs },
          setWhere: lt(maintenanceLocks.until, now),
        })
        .returning({ holder: maintenanceLocks.holder });
      return rows[0]?.holder === holder;
    },

    async release(name, holder) {
      await db
        .delete(maintenanceLocks)
        .where(and(eq(maintenanceLocks.name, name), eq(maintenanceLocks.holder, holder)));
    },
  };
}
