/** Someone who may use the API with `AUTH=apikey`; the id is their `resourceId`. */
export interface User {
  id: string;
  name: string;
  createdAt: Date;
  revokedAt: Date | null;
}

/**
 * Users, API keys and bearer tokens. Keys and tokens are random secrets
 * stored only as hashes; a key is shown once, when its user is created.
 */
export interface UserStore {
  /**
   * Creates a user; the API key is returned this once and only its hash is
   * kept. `id` and `createdAt` are for import, which keeps a user's identity.
   */
  create(name: string, options?: { id?: string; createdAt?: Date }): Promise<{ user: User; apiKey: string }>;
  get(userId: string): Promise<User | undefined>;
  list(): Promise<User[]>;
  /** Revokes the user and ends all their tokens at once; false when unknown or already revoked. */
  revoke(userId: string): Promise<boolean>;
  /** Exchanges an API key for a bearer token; `undefined` for a wrong or revoked key. */
  issueToken(apiKey: string, ttlMs: number): Promise<{ token: string; expiresAt: Date } | undefined>;
  /** The user a live bearer token belongs to; `undefined` for anything else (an API key included). */
  verifyToken(token: string): Promise<string | undefined>;
}
