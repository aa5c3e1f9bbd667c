import { z } from "zod";

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True for any UUID spelling (any version, either case). */
export function isUuid(value: string): boolean {
  return uuidPattern.test(value);
}

/**
 * A session id as clients may send it: a UUID in either case, normalised to
 * lower case so that `ABC…` and `abc…` name the same session.
 *
 * @example
 * sessionIdSchema.parse("0190F5A4-...") // "0190f5a4-..."
 */
export const sessionIdSchema = z
  .string()
  .regex(uuidPattern, "must be a UUID")
  .transform((value) => value.toLowerCase());
