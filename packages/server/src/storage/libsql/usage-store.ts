import { type Clock, type UsageRecord, type UsageStore, usageDayOf } from "@session-bridge/core";
import { asc, type Column, desc, eq, sql } from "drizzle-orm";
import type { Database } from "./client.ts";
import { usageDaily } from "./schema.ts";

/** Counts one turn into its day's row (the statement, for `record` and for a turn's end). */
export function countUsage(db: Database, row: UsageRecord & { day: string }) {
  const added = (column: Column) => sql`${column} + excluded.${sql.identifier(column.name)}`;
  return db
    .insert(usageDaily)
    .values({ ...row, turns: 1 })
    .onConflictDoUpdate({
      target: [usageDaily.resourceId, usageDaily.day, usageDaily.model],
      set: {
        turns: sql`${usageDaily.turns} + 1`,
        inputTokens: added(usageDaily.inputTokens),
        outputTokens: added(usageDaily.outputTokens),
      },
    });
}

export function createUsageStore({ db, clock }: { db: Database; clock: Clock }): UsageStore {
  return {
    async record(resourceId, model, usage) {
      await countUsage(db, { resourceId, model, ...usage, day: usageDayOf(clock.now()) });
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
