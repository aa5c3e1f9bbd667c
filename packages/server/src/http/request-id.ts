import { randomFillSync } from "node:crypto";
import { v7 as uuidv7 } from "uuid";

/** Random bytes for request ids, filled 4 KiB at a time. */
const pool = new Uint8Array(4096);
let taken = pool.length;

/**
 * A UUIDv7 for a request's logs and `x-request-id`. The uuid package asks
 * `crypto.getRandomValues` for 16 bytes per id (~5 µs each, mostly the Web
 * Crypto call's own checks); these come from a pool refilled 256 ids at a time. Ids made in the same
 * millisecond are not ordered among themselves (the package's own counter is
 * not used); nothing sorts by request id.
 *
 * @example
 * context.header("x-request-id", requestId());
 */
export function requestId(): string {
  if (taken + 16 > pool.length) {
    randomFillSync(pool);
    taken = 0;
  }
  const random = pool.subarray(taken, taken + 16);
  taken += 16;
  return uuidv7({ random });
}
