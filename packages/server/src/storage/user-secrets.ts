import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { InvalidRequestError, isCleanIdentifier } from "@session-bridge/shared";

/**
 * API keys and bearer tokens are 256-bit random secrets stored only as
 * SHA-256 hashes (high-entropy secrets need no slow hash); a lookup by hash
 * then a `timingSafeEqual` of the hashes keeps the comparison constant-time.
 */
export const sha256 = (secret: string) => createHash("sha256").update(secret).digest("hex");

/** A new secret: `sbk_` for API keys, `sbt_` for tokens. */
export const newSecret = (prefix: "sbk_" | "sbt_") => `${prefix}${randomBytes(32).toString("base64url")}`;

export const sameHash = (stored: string, computed: string) =>
  timingSafeEqual(Buffer.from(stored), Buffer.from(computed));

/** A user's name, trimmed; `invalid_request` unless 1 to 200 characters without control characters. */
export function checkUserName(name: string): string {
  const trimmed = name.trim();
  if (!trimmed || trimmed.length > 200 || !isCleanIdentifier(trimmed)) {
    throw new InvalidRequestError("name must be 1 to 200 characters, without control characters", { field: "name" });
  }
  return trimmed;
}
