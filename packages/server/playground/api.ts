import type { ChatMessage } from "@session-bridge/shared";

/** A session as `GET /api/sessions` lists it. */
export interface SessionSummary {
  id: string;
  title: string;
  createdAt: string;
  lastAccessed: string;
  messageCount: number;
}

/** A refused request, with the contract's error code. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** The sessions API for one caller (`token` is null when the server runs with `AUTH=none`). */
export interface PlaygroundApi {
  headers(): Record<string, string>;
  listSessions(): Promise<SessionSummary[]>;
  getSession(id: string): Promise<{ session: SessionSummary; messages: ChatMessage[] }>;
  renameSession(id: string, title: string): Promise<SessionSummary>;
  deleteSession(id: string): Promise<void>;
  stopSession(id: string): Promise<void>;
}

async function call<T>(method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<T> {
  const response = await fetch(path, {
    method,
    headers: body === undefined ? headers : { ...headers, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (response.status === 204) return undefined as T;
  const json = (await response.json().catch(() => null)) as { error?: { code: string; message: string } } | null;
  if (!response.ok) {
    throw new ApiError(response.status, json?.error?.code ?? "http_error", json?.error?.message ?? response.statusText);
  }
  return json as T;
}

export function createApi(token: string | null): PlaygroundApi {
  const headers = (): Record<string, string> => (token ? { authorization: `Bearer ${token}` } : {});
  const sessionPath = (id: string) => `/api/sessions/${encodeURIComponent(id)}`;
  return {
    headers,
    listSessions: async () =>
      (await call<{ sessions: SessionSummary[] }>("GET", "/api/sessions?limit=100", headers())).sessions,
    getSession: (id) => call("GET", sessionPath(id), headers()),
    renameSession: async (id, title) =>
      (await call<{ session: SessionSummary }>("PATCH", sessionPath(id), headers(), { title })).session,
    deleteSession: (id) => call("DELETE", sessionPath(id), headers()),
    stopSession: (id) => call("POST", `${sessionPath(id)}/stop`, headers()),
  };
}

/** `POST /api/auth/token`: an API key for a bearer token. */
export function exchangeApiKey(apiKey: string): Promise<{ token: string; expiresAt: string }> {
  return call("POST", "/api/auth/token", {}, { apiKey });
}

/**
 * The status and contract error of a failure: an {@link ApiError}, or the AI SDK's
 * `APICallError` from the chat transport, whose message is the response body.
 */
export function describeError(error: unknown): { status: number | undefined; message: string } {
  if (error instanceof ApiError) return { status: error.status, message: error.message };
  const status = (error as { statusCode?: number } | null)?.statusCode;
  const text = error instanceof Error ? error.message : String(error);
  try {
    const body = JSON.parse(text) as { error?: { message?: string } };
    return { status, message: body.error?.message ?? text };
  } catch {
    return { status, message: text };
  }
}
