import { type Clock, type UsageRecord, type UsageStore, usageDayOf } from "@session-bridge/core";
import { asc, desc, eq, sql } from "drizzle-orm";
import type { Database } from "./client.ts";
import { usageDaily } from "./schema.ts";

/** Counts one turn into its day's row (the statement, for `record` and for a turn's end). */
export function countUsage(db: Database, usage: UsageRecord, at: Date) {
  const { resourceId, model, inputTokens, outputTokens } = usage;
  return db
    .insert(usageDaily)
    .values({ resourceId, day: usageDayOf(at), model, turns: 1, inputTokens, outputTokens })
    .onConflictDoUpdate({
      target: [usageDaily.resourceId, usageDaily.day, usageDaily.model],
      set: {
        turns: sql`${usageDaily.turns} + 1`,
        inputTokens: sql`${usageDaily.inputTokens} + ${inputTokens}`,
        outputTokens: sql`${usageDaily.outputTokens} + ${outputTokens}`,
      },
    });
}

export function createUsageStore({ db, clock }: { db: Database; clock: Clock }): UsageStore {
  return {
    async record(resourceId, model, usage) {
      await countUsage(db, { resourceId, model, ...usage }, clock.now());
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
