import type { Clock, UsageStore } from "@session-bridge/core";
import { asc, desc, eq, sql } from "drizzle-orm";
import type { PgDatabase } from "./client.ts";
import { usageDaily } from "./schema.ts";

/** The {@link UsageStore} on PostgreSQL: one row per (user, day, model), counted up in place. */
export function createPostgresUsageStore({ db, clock }: { db: PgDatabase; clock: Clock }): UsageStore {
  return {
    async record(resourceId, model, usage) {
      const day = clock.now().toISOString().slice(0, 10);
      await db
        .insert(usageDaily)
        .values({ resourceId, day, model, turns: 1, ...usage })
        .onConflictDoUpdate({
          target: [usageDaily.resourceId, usageDaily.day, usageDaily.model],
          set: {
            turns: sql`${usageDaily.turns} + 1`,
            inputTokens: sql`${usageDaily.inputTokens} + ${usage.inputTokens}`,
            outputTokens: sql`${usageDaily.outputTokens} + ${usage.outputTokens}`,
          },
        });
    },

    async list(resourceId) {
      return db
        .select({
          day: usageDaily.day,
          model: usageDaily.model,
          turns: usageDaily.turns,
          inputTokens: usageDaily.inputTokens,
          outputTokens: usageDaily.outputTokens,
        })
        .from(usageDaily)
        .where(eq(usageDaily.resourceId, resourceId))
        .orderBy(desc(usageDaily.day), asc(usageDaily.model));
    },
  };
}
