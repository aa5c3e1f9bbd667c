import { z } from "zod";

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True for any UUID spelling (any version, either case). */
export function isUuid(value: string): boolean {
  return uuidPattern.test(value);
}

// Version 7 and the RFC 9562 variant: the only UUIDs the server makes as session ids.
const uuidV7Pattern = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

/**
 * A session id as clients may send it: a UUIDv7 (the only kind the server
 * makes, so any other UUID is malformed, not unknown) in either case,
 * normalised to lower case so that `ABC…` and `abc…` name the same session.
 *
 * @example
 * sessionIdSchema.parse("0190F5A4-...") // "0190f5a4-..."
 */
export const sessionIdSchema = z
  .string()
  .regex(uuidV7Pattern, "must be a UUIDv7")
  .transform((value) => value.toLowerCase());
