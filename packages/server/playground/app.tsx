import type { ChatMessage } from "@session-bridge/shared";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { createApi, describeError, exchangeApiKey } from "./api.ts";
import { Conversation } from "./conversation.tsx";
import { LoginBox } from "./login-box.tsx";
import { SessionSidebar } from "./session-sidebar.tsx";
import { useSessions } from "./use-sessions.ts";

const tokenKey = "session-bridge-token";

/**
 * What the conversation pane shows. `key` changes only when the user switches,
 * so a new chat keeps streaming when the server tells it its session id.
 */
interface View {
  key: string;
  sessionId: string | null;
  messages: ChatMessage[];
}

const newChatView = (): View => ({ key: crypto.randomUUID(), sessionId: null, messages: [] });

export function App() {
  const [token, setToken] = useState(() => sessionStorage.getItem(tokenKey));
  const [phase, setPhase] = useState<"checking" | "login" | "ready">("checking");
  const [loginError, setLoginError] = useState<string>();
  const [notice, setNotice] = useState<string>();
  const [view, setView] = useState(newChatView);
  const api = useMemo(() => createApi(token), [token]);
  const { sessions, refresh, rename, remove } = useSessions(api);
  const latestOpen = useRef(0);

  const signOut = useCallback((reason?: string) => {
    sessionStorage.removeItem(tokenKey);
    setToken(null);
    setLoginError(reason);
  }, []);

  const report = useCallback(
    (error: unknown) => {
      const { status, message } = describeError(error);
      if (status === 401) signOut("Your token expired or was revoked: sign in again.");
      else setNotice(message);
    },
    [signOut],
  );

  const startNewChat = useCallback(() => {
    latestOpen.current++;
    setView(newChatView());
  }, []);

  const openSession = useCallback(
    async (id: string) => {
      const request = ++latestOpen.current;
      try {
        const { messages } = await api.getSession(id);
        if (request === latestOpen.current) setView({ key: `${id}:${request}`, sessionId: id, messages });
      } catch (error) {
        if (request !== latestOpen.current) return;
        report(error);
        startNewChat();
      }
    },
    [api, report, startNewChat],
  );

  // Who am I: the session list answers 401 when the server wants a token.
  useEffect(() => {
    let current = true;
    const fromHash = decodeURIComponent(location.hash.slice(1));
    setPhase("checking");
    refresh().then(
      async () => {
        if (!current) return;
        setPhase("ready");
        if (fromHash) await openSession(fromHash);
      },
      (error: unknown) => {
        if (!current) return;
        const { status, message } = describeError(error);
        setPhase(status === 401 ? "login" : "ready");
        if (status !== 401) setNotice(message);
      },
    );
    return () => {
      current = false;
    };
  }, [refresh, openSession]);

  // The address names the open session, so a reload restores it.
  useEffect(() => {
    if (phase !== "ready") return;
    history.replaceState(null, "", view.sessionId ? `#${view.sessionId}` : location.pathname + location.search);
  }, [phase, view.sessionId]);

  const signIn = useCallback(async (apiKey: string) => {
    try {
      const { token: issued } = await exchangeApiKey(apiKey);
      sessionStorage.setItem(tokenKey, issued);
      setLoginError(undefined);
      setToken(issued);
    } catch (error) {
      setLoginError(describeError(error).message);
    }
  }, []);

  const sessionCreated = useCallback(
    (key: string, sessionId: string) => {
      setView((shown) => (shown.key === key ? { ...shown, sessionId } : shown));
      refresh().catch(report);
    },
    [refresh, report],
  );

  const deleteSession = useCallback(
    (id: string) => {
      if (view.sessionId === id) startNewChat();
      remove(id).catch(report);
    },
    [view.sessionId, startNewChat, remove, report],
  );

  if (phase === "checking") return <p className="loading">Loading…</p>;
  if (phase === "login") return <LoginBox error={loginError} onSignIn={signIn} />;
  return (
    <div className="layout">
      <SessionSidebar
        sessions={sessions}
        activeId={view.sessionId}
        onNew={startNewChat}
        onOpen={(id) => {
          if (id !== view.sessionId) void openSession(id);
        }}
        onRename={(id, title) => rename(id, title).catch(report)}
        onDelete={deleteSession}
        onSignOut={token ? () => signOut() : undefined}
      />
      <Conversation
        key={view.key}
        chatKey={view.key}
        sessionId={view.sessionId}
        initialMessages={view.messages}
        api={api}
        onSessionCreated={sessionCreated}
        onTurnFinished={() => refresh().catch(report)}
        onUnauthorized={() => signOut("Your token expired or was revoked: sign in again.")}
      />
      {notice && (
        <div role="status" className="notice">
          <span>{notice}</span>
          <button type="button" onClick={() => setNotice(undefined)}>
            Dismiss
          </button>
        </div>
      )}
    </div>
  );
}
