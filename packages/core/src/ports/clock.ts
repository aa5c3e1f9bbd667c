/** Where time comes from; tests inject a fixed or stepping clock. */
export interface Clock {
  now(): Date;
}

/** Makes ids; the real one makes UUIDv7s, tests inject predictable ones. */
export type IdGenerator = () => string;

export const systemClock: Clock = { now: () => new Date() };
