/** One user's model usage on one day with one model. */
export interface UsageDay {
  /** `YYYY-MM-DD`, UTC. */
  day: string;
  model: string;
  turns: number;
  inputTokens: number;
  outputTokens: number;
}

/** The day `at` counts under: `YYYY-MM-DD`, UTC. */
export const usageDayOf = (at: Date): string => at.toISOString().slice(0, 10);

/** One turn's usage, counted under its resource, model and day. */
export interface UsageRecord {
  resourceId: string;
  model: string;
  inputTokens: number;
  outputTokens: number;
}

/** Model usage per user, day and model: one row per combination, counted up in place; kept when sessions go. */
export interface UsageStore {
  /** Counts one turn of `model` with its tokens, today (UTC). */
  record(resourceId: string, model: string, usage: { inputTokens: number; outputTokens: number }): Promise<void>;
  /** The resource's usage, newest day first. */
  list(resourceId: string): Promise<UsageDay[]>;
}
