import type { Clock, IdGenerator, User, UserStore } from "@session-bridge/core";
import { and, asc, eq, gt, isNull, sql } from "drizzle-orm";
import { checkUserName, newSecret, sameHash, sha256 } from "../user-secrets.ts";
import type { Database } from "./client.ts";
import { readQuery, type SqlReader } from "./reader.ts";
import { authTokens, users } from "./schema.ts";

/**
 * Users, API keys and bearer tokens. Keys and tokens are 256-bit random
 * secrets stored only as SHA-256 hashes (high-entropy secrets need no slow
 * hash); looking up by hash and comparing the hashes with `timingSafeEqual`
 * keeps the comparison constant-time.
 *
 * @example
 * const { user, apiKey } = await userStore.create("alice");
 */
export function createUserStore({
  db,
  reader,
  clock,
  generateId,
}: {
  db: Database;
  /** Where the token check, every request's first read, goes. */
  reader: SqlReader;
  clock: Clock;
  generateId: IdGenerator;
}): UserStore {
  const columns = { id: users.id, name: users.name, createdAt: users.createdAt, revokedAt: users.revokedAt };
  const tokenOwner = readQuery(
    reader,
    db
      .select({ userId: authTokens.userId, tokenHash: authTokens.tokenHash })
      .from(authTokens)
      .innerJoin(users, eq(users.id, authTokens.userId))
      .where(
        and(
          eq(authTokens.tokenHash, sql.placeholder("hash")),
          gt(authTokens.expiresAt, sql.placeholder("now")),
          isNull(users.revokedAt),
        ),
      ),
  );
  return {
    async create(name, options = {}) {
      const trimmed = checkUserName(name);
      const apiKey = newSecret("sbk_");
      const user: User = {
        id: options.id ?? generateId(),
        name: trimmed,
        createdAt: options.createdAt ?? clock.now(),
        revokedAt: null,
      };
      await db.insert(users).values({ ...user, apiKeyHash: sha256(apiKey) });
      return { user, apiKey };
    },

    async get(userId) {
      const [user] = await db.select(columns).from(users).where(eq(users.id, userId));
      return user;
    },

    async list() {
      return db.select(columns).from(users).orderBy(asc(users.createdAt), asc(users.id));
    },

    async revoke(userId) {
      const [revoked, _tokens] = await db.batch([
        db
          .update(users)
          .set({ revokedAt: clock.now() })
          .where(and(eq(users.id, userId), isNull(users.revokedAt)))
          .returning({ id: users.id }),
        db.delete(authTokens).where(eq(authTokens.userId, userId)),
      ]);
      return revoked.length > 0;
    },

    async issueToken(apiKey, ttlMs) {
      const hash = sha256(apiKey);
      const [user] = await db
        .select({ id: users.id, apiKeyHash: users.apiKeyHash })
        .from(users)
        .where(and(eq(users.apiKeyHash, hash), isNull(users.revokedAt)));
      if (!user || !sameHash(user.apiKeyHash, hash)) return undefined;
      const token = newSecret("sbt_");
      const now = clock.now();
      const expiresAt = new Date(now.getTime() + ttlMs);
      await db.insert(authTokens).values({ tokenHash: sha256(token), userId: user.id, createdAt: now, expiresAt });
      return { token, expiresAt };
    },

    async verifyToken(token) {
      const hash = sha256(token);
      const [row] = await tokenOwner({ hash, now: clock.now().getTime() });
      if (!row || !sameHash(String(row[1]), hash)) return undefined;
      return String(row[0]);
    },
  };
}
